import { z } from 'zod'
import { compileDownlinkRules } from '../bridge/downlink.js'
import { compileUplinkRules } from '../bridge/uplink-rules.js'
import { APP_ID_PATTERN, APP_ID_RULE, APP_KEY_PATTERN } from '../domain/names.js'
import { bridgeSchema } from './bridge-schema.js'

const port = z.number().int().min(0).max(65535)
const seconds = z.number().min(0)
/** `scheme://host[:port]` where host may start with `*.`, or a lone `*`. */
const ORIGIN_PATTERN = /^(\*|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d+)?)$/

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

export const appSchema = z.strictObject({
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
  maxConnections: z
    .number()
    .int()
    .min(1)
    .nullable()
    .default(null)
    .describe(
      'WebSocket connections this app may hold on one node; null: no limit (4004 past it).',
    ),
  allowedOrigins: z
    .array(
      z
        .string()
        .regex(
          ORIGIN_PATTERN,
          'an origin like https://app.example.com, https://*.example.com or *',
        ),
    )
    .default([])
    .describe('Browser origins allowed to connect; empty: any (4009 otherwise).'),
  userAuthenticationTimeout: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'Seconds a socket has to sign in (pusher:signin) before it is closed with 4009; 0: no rule.',
    ),
  subscriptionCount: z
    .boolean()
    .default(false)
    .describe(
      'Send pusher_internal:subscription_count to subscribers when a channel count changes.',
    ),
  maxBackendEventsPerSecond: z
    .number()
    .int()
    .min(1)
    .nullable()
    .default(null)
    .describe(
      'Events per second the backend may trigger (a batch counts each event); 429 past it.',
    ),
  maxReadRequestsPerSecond: z
    .number()
    .int()
    .min(1)
    .nullable()
    .default(null)
    .describe('GET requests per second to the REST API; 429 past it.'),
  maxMessagesPerDay: z
    .number()
    .int()
    .min(1)
    .nullable()
    .default(null)
    .describe('Daily message quota (UTC day); triggers get 403 once it is spent.'),
})

export const configSchema = z
  .strictObject({
    http: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0').describe('Interface for HTTP and WebSocket.'),
        port: port
          .default(6001)
          .describe('Port for the Pusher WebSocket edge, REST API and health.'),
        pathPrefix: z
          .string()
          .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'empty, or /segments without a trailing slash')
          .default('')
          .describe('Prefix before /app/{key} and /apps/{id} (pusher-js wsPath), e.g. /realtime.'),
        tls: z
          .strictObject({
            cert: z.string().min(1).describe('PEM certificate chain file.'),
            key: z.string().min(1).describe('PEM private key file.'),
          })
          .nullable()
          .default(null)
          .describe('Serve HTTPS and wss:// on http.port; null: plain HTTP.'),
      })
      .prefault({}),
    mqtt: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0').describe('Interface for MQTT over TCP.'),
        port: port.default(1883).describe('Port for MQTT over TCP.'),
        tls: z
          .strictObject({
            port: port.default(8883).describe('Port for MQTT over TLS.'),
            cert: z.string().min(1).describe('PEM certificate chain file.'),
            key: z.string().min(1).describe('PEM private key file.'),
          })
          .nullable()
          .default(null)
          .describe('MQTT over TLS on its own port (mqtt.host); null: none.'),
        websocket: z
          .boolean()
          .default(true)
          .describe('Serve MQTT over WebSocket at /mqtt on the HTTP port.'),
        allowAnonymous: z
          .boolean()
          .default(false)
          .describe(
            'Development only: clients without credentials get any client id and every topic.',
          ),
        maxPacketBytes: z
          .number()
          .int()
          .min(1024)
          .max(256 * 1024 * 1024)
          .default(128 * 1024)
          .describe('Largest MQTT packet accepted; a larger one closes the connection.'),
        maxTopicLevels: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(16)
          .describe('Deepest topic (levels) a client may publish or subscribe to.'),
        drainTimeout: z
          .number()
          .min(0)
          .default(30)
          .describe(
            "Seconds a client's send buffer may stay full (its QoS 0 messages are dropped meanwhile); then it is disconnected (0: never).",
          ),
        maxInflightInbound: z
          .number()
          .int()
          .min(1)
          .default(1000)
          .describe(
            'Inbound QoS 2 messages a client may leave unreleased (no PUBREL) before it is disconnected.',
          ),
        loginFailures: z
          .strictObject({
            limit: z
              .number()
              .int()
              .min(1)
              .default(5)
              .describe('Failed logins per device or address within window before a ban.'),
            window: z
              .number()
              .int()
              .min(1)
              .default(60)
              .describe('Seconds over which failures are counted.'),
            ban: z
              .number()
              .int()
              .min(1)
              .default(10)
              .describe('Seconds of the first ban; each further ban doubles it.'),
            maxBan: z.number().int().min(1).default(600).describe('Longest ban, in seconds.'),
          })
          .prefault({})
          .describe(
            'Throttling of failed logins per device id and per remote address (EMQX flapping style), for MQTT and the HTTP doors (dashboard auth, claims).',
          ),
        lastSeenInterval: z
          .number()
          .int()
          .min(1)
          .default(60)
          .describe("Seconds between writes of a connected device's last-seen time."),
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
        pongTimeout: z
          .number()
          .int()
          .min(1)
          .max(600)
          .default(30)
          .describe('Seconds a pinged, silent socket has to answer before it is closed with 4201.'),
        maxBufferedBytes: z
          .number()
          .int()
          .min(16 * 1024)
          .default(1024 * 1024)
          .describe(
            "Bytes that may wait in one socket's send buffer; a slower reader is closed with 4101.",
          ),
        maxEventBytes: z
          .number()
          .int()
          .min(256)
          .default(10 * 1024)
          .describe('Largest client event data (serialised JSON) accepted; larger ones get 4301.'),
        clientEventsPerSecond: z
          .number()
          .int()
          .min(1)
          .default(10)
          .describe(
            'Client events one socket may send per second; more get 4301 (socket stays open).',
          ),
        maxPresenceMembers: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe(
            'Distinct users in one presence channel; the next one gets a subscription_error.',
          ),
        maxPresenceMemberBytes: z
          .number()
          .int()
          .min(64)
          .default(1024)
          .describe('Largest presence member (channel_data, serialised) accepted.'),
        presenceGracePeriod: seconds
          .max(60)
          .default(3)
          .describe(
            'Seconds a departed presence member is kept before member_removed; a rejoin within it is silent.',
          ),
        cacheTtl: z
          .number()
          .int()
          .min(1)
          .default(1800)
          .describe('Seconds a cache channel keeps its last event.'),
      })
      .prefault({}),
    rest: z
      .strictObject({
        timestampWindow: z
          .number()
          .int()
          .min(0)
          .default(600)
          .describe('Seconds auth_timestamp may differ from the clock (0: not checked).'),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024)
          .describe('Largest REST request body; larger ones get 413.'),
      })
      .prefault({}),
    webhooks: z
      .strictObject({
        batchWindow: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe(
            'Milliseconds to gather webhook events into one POST per URL; 0 sends each alone.',
          ),
        timeout: z
          .number()
          .min(0.1)
          .default(5)
          .describe(
            'Seconds a webhook receiver has to answer before the attempt counts as failed.',
          ),
        retryFor: z
          .number()
          .int()
          .min(0)
          .default(300)
          .describe(
            'Seconds a failed webhook keeps being retried (exponential backoff) before it is dropped.',
          ),
        delay: z
          .number()
          .min(0)
          .default(3)
          .describe(
            'Seconds channel_vacated waits; a new subscriber within them cancels it and the next channel_occupied.',
          ),
        maxQueued: z
          .number()
          .int()
          .min(1)
          .default(10000)
          .describe(
            'Webhook POSTs that may wait in the queue; past it the oldest are dropped and counted.',
          ),
      })
      .prefault({}),
    bridge: bridgeSchema.describe('Mapping rules between device topics and channel events.'),
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
    const problems = [
      ...compileUplinkRules(config.bridge.uplink).problems,
      ...compileDownlinkRules(config.bridge.downlink).problems,
    ]
    for (const problem of problems) ctx.addIssue({ code: 'custom', ...problem })
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
