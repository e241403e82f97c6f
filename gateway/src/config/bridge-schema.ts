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

export const downlinkRuleSchema = z.strictObject({
  name: z.string().min(1).describe('Rule name, used in logs.'),
  channel: z
    .string()
    .min(1)
    .describe(
      'Channel pattern; its ${captures} are read from the channel name: private-device-${deviceId}.',
    ),
  event: z.string().min(1).describe('Event pattern: command.${command}.'),
  clientEvents: z
    .boolean()
    .default(true)
    .describe('Also take client events named client-<event> (from subscribed browsers).'),
  topic: z
    .string()
    .min(1)
    .describe('MQTT topic template: devices/${deviceId}/commands/${command}.'),
  qos: z
    .union([z.literal(0), z.literal(1)])
    .default(1)
    .describe('QoS of the command publish.'),
  expires: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Seconds a command stays valid (expiresAt in the envelope); 0: no expiry.'),
})

export const bridgeSchema = z
  .strictObject({
    uplink: z
      .array(uplinkRuleSchema)
      .default([])
      .describe(
        'Device topic -> channel event rules, in order; empty: the default topic contract.',
      ),
    downlink: z
      .array(downlinkRuleSchema)
      .default([])
      .describe(
        'Channel event -> device command rules, in order; empty: the default command contract.',
      ),
  })
  .prefault({})
