import { join } from 'node:path'
import type { IClientOptions } from 'mqtt'
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from './backoff.js'
import type { JournalOptions } from './command-journal.js'
import { DEFAULT_LIMITS, type GatewayLimits } from './limits.js'
import { type QueueOptions, type ResolvedQueueOptions, resolveQueue } from './outbox.js'
import { isTopicLevel } from './topics.js'

/** mqtt.js options the SDK leaves to you (TLS material, WebSocket options, ...). */
export type TransportOptions = Omit<
  IClientOptions,
  | 'clientId'
  | 'username'
  | 'password'
  | 'protocolVersion'
  | 'clean'
  | 'reconnectPeriod'
  | 'keepalive'
  | 'connectTimeout'
  | 'will'
  | 'resubscribe'
  | 'manualConnect'
  | 'queueQoSZero'
>

export interface DeviceOptions {
  /** `mqtt://host:1883`, `mqtts://host:8883`, `ws://host:6001/mqtt` or `wss://…`. */
  url: string
  /** The device id: MQTT client id and user name. */
  deviceId: string
  /** The secret from `fleetcast devices add`. Give this or `credentials`. */
  secret?: string
  /** Called before every connection attempt; resolves to the secret (e.g. read from a vault). */
  credentials?: () => string | Promise<string>
  /**
   * Where the outbound queue and the command journal live. One process per directory.
   * Default `.fleetcast/{deviceId}` under the working directory.
   */
  dataDir?: string
  /** MQTT keepalive. Default 30 s. */
  keepaliveSeconds?: number
  /** Time for the TCP/TLS handshake and CONNACK. Default 10 000 ms. */
  connectTimeoutMs?: number
  backoff?: BackoffOptions
  /**
   * After a CONNACK refusal (1, 2, 4, 5): `retry` (default) waits `backoff.maxDelayMs` before
   * each further attempt, calling `credentials` again; `stop` gives up and emits `stopped`.
   */
  onAuthFailure?: 'retry' | 'stop'
  queue?: QueueOptions
  /** QoS 1 publishes sent but not yet acknowledged at a time. Default 10. */
  maxInflight?: number
  /** The gateway's limits, if its operator changed them. */
  limits?: Partial<GatewayLimits>
  commands?: {
    /** A handler running longer is answered with a `timeout` error and its signal aborted. Default 30 000 ms. */
    timeoutMs?: number
    /** The persisted window of command ids. */
    dedupe?: JournalOptions
  }
  /** Extra fields of the retained birth message, e.g. `{ fw: '1.4.2' }`. */
  birth?: Record<string, unknown>
  /** Epoch milliseconds. Default `Date.now`. Used for `ts` and command expiry. */
  clock?: () => number
  /** mqtt.js options for the transport: `ca`, `cert`, `key`, `rejectUnauthorized`, `wsOptions`, ... */
  transport?: TransportOptions
}

export interface ResolvedOptions {
  url: string
  deviceId: string
  secret: () => Promise<string>
  dataDir: string
  keepaliveSeconds: number
  connectTimeoutMs: number
  backoff: ResolvedBackoff
  onAuthFailure: 'retry' | 'stop'
  queue: ResolvedQueueOptions
  maxInflight: number
  limits: GatewayLimits
  commandTimeoutMs: number
  dedupe: Required<JournalOptions>
  birth: Record<string, unknown>
  clock: () => number
  transport: TransportOptions
}

const PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'])

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw new TypeError(`${name} must be an integer >= ${min}, got ${String(value)}`)
  return value
}

/** Checks every option; throws a TypeError naming the first bad one. */
export function resolveOptions(options: DeviceOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('createDevice needs an options object')
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    throw new TypeError(`url "${String(options.url)}" is not a URL (mqtt://host:1883)`)
  }
  if (!PROTOCOLS.has(url.protocol))
    throw new TypeError(`url protocol ${url.protocol} is not one of mqtt: mqtts: ws: wss:`)
  if (!isTopicLevel(options.deviceId))
    throw new TypeError(
      `deviceId "${String(options.deviceId)}" must be a non-empty string without / + # or NUL`,
    )
  const { secret, credentials } = options
  if ((secret === undefined) === (credentials === undefined))
    throw new TypeError('give exactly one of secret and credentials')
  if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0))
    throw new TypeError('secret must be a non-empty string')
  if (credentials !== undefined && typeof credentials !== 'function')
    throw new TypeError('credentials must be a function returning the secret')
  if (options.onAuthFailure !== undefined && !['retry', 'stop'].includes(options.onAuthFailure))
    throw new TypeError(`onAuthFailure must be "retry" or "stop", got ${options.onAuthFailure}`)
  const limits = { ...DEFAULT_LIMITS }
  for (const key of ['maxEventBytes', 'maxPacketBytes'] as const)
    limits[key] = integer(`limits.${key}`, options.limits?.[key], DEFAULT_LIMITS[key], 64)
  if (options.clock !== undefined && typeof options.clock !== 'function')
    throw new TypeError('clock must be a function returning epoch milliseconds')
  if (
    options.birth !== undefined &&
    (typeof options.birth !== 'object' || options.birth === null || Array.isArray(options.birth))
  )
    throw new TypeError('birth must be an object of extra fields')
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || !options.dataDir))
    throw new TypeError('dataDir must be a non-empty path')
  return {
    url: options.url,
    deviceId: options.deviceId,
    secret: secretSource(secret, credentials),
    dataDir: options.dataDir ?? join(process.cwd(), '.fleetcast', options.deviceId),
    keepaliveSeconds: integer('keepaliveSeconds', options.keepaliveSeconds, 30, 1),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
    backoff: resolveBackoff(options.backoff),
    onAuthFailure: options.onAuthFailure ?? 'retry',
    queue: resolveQueue(options.queue),
    maxInflight: integer('maxInflight', options.maxInflight, 10, 1),
    limits,
    commandTimeoutMs: integer('commands.timeoutMs', options.commands?.timeoutMs, 30_000, 1),
    dedupe: {
      maxEntries: integer(
        'commands.dedupe.maxEntries',
        options.commands?.dedupe?.maxEntries,
        1000,
        1,
      ),
      maxAgeMs: integer(
        'commands.dedupe.maxAgeMs',
        options.commands?.dedupe?.maxAgeMs,
        7 * 24 * 3600_000,
        1,
      ),
    },
    birth: options.birth ?? {},
    clock: options.clock ?? Date.now,
    transport: options.transport ?? {},
  }
}

function secretSource(
  secret: string | undefined,
  credentials: (() => string | Promise<string>) | undefined,
): () => Promise<string> {
  if (secret !== undefined) return () => Promise.resolve(secret)
  const provider = credentials as () => string | Promise<string>
  return async () => {
    const value = await provider()
    if (typeof value !== 'string' || value.length === 0)
      throw new TypeError('the credentials provider must resolve to a non-empty secret string')
    return value
  }
}
