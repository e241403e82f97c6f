import { z } from 'zod'
import { APP_ID_PATTERN, APP_ID_RULE, APP_KEY_PATTERN } from '../domain/names.js'

const port = z.number().int().min(0).max(65535)

export const WEBHOOK_EVENTS = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
  'device_connected',
  'device_disconnected',
] as const

const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('Where webhook POSTs go (http or https).'),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .optional()
    .describe('Only these webhook events are sent to this URL; all of them when absent.'),
})

const appSchema = z.strictObject({
  id: z.string().regex(APP_ID_PATTERN, APP_ID_RULE).describe('App id, used in REST paths.'),
  key: z
    .string()
    .regex(APP_KEY_PATTERN, '1-128 characters from A-Z a-z 0-9 _ -')
    .describe('Public app key that clients put in the WebSocket URL.'),
  secret: z
    .string()
    .min(8)
    .describe('App secret that signs channel auth, REST requests and webhooks.'),
  enabled: z.boolean().default(true).describe('A disabled app refuses connections (4003).'),
  clientEvents: z
    .boolean()
    .default(false)
    .describe('Allow client-* events from browsers on private and presence channels.'),
  webhooks: z.array(webhookSchema).default([]).describe('Webhook targets of this app.'),
})

export const configSchema = z
  .strictObject({
    http: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0').describe('Interface for HTTP and WebSocket.'),
        port: port
          .default(6001)
          .describe('Port for the Pusher WebSocket edge, REST API and health.'),
      })
      .prefault({}),
    mqtt: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0').describe('Interface for MQTT over TCP.'),
        port: port.default(1883).describe('Port for MQTT over TCP.'),
      })
      .prefault({}),
    pusher: z
      .strictObject({
        activityTimeout: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(120)
          .describe('Seconds of silence after which clients ping (sent in the handshake).'),
        maxFrameBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(20 * 1024)
          .describe('Largest WebSocket frame accepted from a client; larger ones close with 1009.'),
      })
      .prefault({}),
    store: z
      .strictObject({
        path: z
          .string()
          .min(1)
          .default('./data/fleetcast.db')
          .describe('SQLite file (created with its folder if missing); ":memory:" for tests.'),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Lowest level written.'),
        format: z
          .enum(['auto', 'json', 'pretty'])
          .default('auto')
          .describe('auto: pretty on a terminal, JSON otherwise.'),
      })
      .prefault({}),
    apps: z.array(appSchema).default([]).describe('Apps upserted into the store at start.'),
  })
  .superRefine((config, ctx) => {
    const seen = { id: new Map<string, number>(), key: new Map<string, number>() }
    config.apps.forEach((app, index) => {
      for (const field of ['id', 'key'] as const) {
        const first = seen[field].get(app[field])
        if (first === undefined) seen[field].set(app[field], index)
        else
          ctx.addIssue({
            code: 'custom',
            path: ['apps', index, field],
            message: `duplicate app ${field} "${app[field]}" (also apps[${first}].${field})`,
          })
      }
    })
  })

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>
export type AppConfig = Config['apps'][number]
export type WebhookConfig = AppConfig['webhooks'][number]
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number]
