import { z } from 'zod'

export const uplinkRuleSchema = z.strictObject({
  name: z.string().min(1).describe('Rule name, shown by `fleetcast rules test` and in logs.'),
  match: z
    .string()
    .min(1)
    .describe('MQTT filter with named wildcards: devices/+deviceId/telemetry/+metric, logs/#path.'),
  channel: z
    .string()
    .min(1)
    .describe('Channel template over the captures and device fields: private-device-${deviceId}.'),
  event: z.string().min(1).describe('Event template: telemetry.${metric}.'),
  payload: z
    .enum(['auto', 'json', 'text', 'base64'])
    .default('auto')
    .describe(
      'auto: JSON stays JSON, text becomes a string, binary {"base64": ...}; or force one.',
    ),
  wrap: z.boolean().default(false).describe('Wrap data as {deviceId, topic, receivedAt, data}.'),
  throttle: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'Milliseconds between events per channel and event name; the latest value wins. 0: none.',
    ),
  continue: z
    .boolean()
    .default(false)
    .describe('Keep matching later rules after this one (first match wins otherwise).'),
})

export const bridgeSchema = z
  .strictObject({
    uplink: z
      .array(uplinkRuleSchema)
      .default([])
      .describe(
        'Device topic -> channel event rules, in order; empty: the default topic contract.',
      ),
  })
  .prefault({})
