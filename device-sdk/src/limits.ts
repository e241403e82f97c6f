import { isUtf8 } from 'node:buffer'
import { DeviceError } from './errors.js'
import { eventTopic } from './topics.js'

/**
 * The gateway's limits (docs/config.md). Defaults are the gateway's defaults; set them to the
 * values of the gateway you talk to if its operator changed them.
 */
export interface GatewayLimits {
  /** `pusher.maxEventBytes`: largest event data a browser can get (serialised JSON). */
  maxEventBytes: number
  /** `mqtt.maxPacketBytes`: largest MQTT packet the broker reads before closing the connection. */
  maxPacketBytes: number
}

export const DEFAULT_LIMITS: GatewayLimits = { maxEventBytes: 10_240, maxPacketBytes: 131_072 }

/** Event names the gateway drops (docs/topics.md): reserved by the Pusher protocol. */
const RESERVED_EVENT_PREFIXES = ['pusher:', 'pusher_internal:']
export const MAX_EVENT_NAME_LENGTH = 200

export function eventNameProblem(event: string): string | undefined {
  if (typeof event !== 'string') return 'event name must be a string'
  if (event.length === 0 || event.length > MAX_EVENT_NAME_LENGTH)
    return `event name must be 1-${MAX_EVENT_NAME_LENGTH} characters`
  if (RESERVED_EVENT_PREFIXES.some((prefix) => event.startsWith(prefix)))
    return `event name "${event}" uses a prefix reserved by the Pusher protocol`
  return undefined
}

/**
 * The MQTT payload for `data`: bytes as they are (Buffer, Uint8Array), anything else as JSON.
 * Throws a TypeError for data JSON cannot represent (undefined, functions, BigInt, cycles).
 */
export function encodePayload(data: unknown): Buffer {
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  let json: string | undefined
  try {
    json = JSON.stringify(data)
  } catch (error) {
    throw new TypeError(`data cannot be serialised as JSON: ${(error as Error).message}`)
  }
  if (json === undefined) throw new TypeError(`data cannot be serialised as JSON (${typeof data})`)
  return Buffer.from(json)
}

/**
 * What the gateway's default rules make of a payload (gateway payload mode `auto`): JSON bytes
 * as they are, other UTF-8 as a JSON string, anything else `{"base64": ...}`. Its size is what
 * `pusher.maxEventBytes` limits.
 */
export function eventDataBytes(payload: Buffer): number {
  if (!isUtf8(payload))
    return Buffer.byteLength(JSON.stringify({ base64: payload.toString('base64') }))
  const text = payload.toString('utf8')
  if (text.trim().length > 0) {
    try {
      JSON.parse(text)
      return payload.length
    } catch {
      // not JSON: a JSON string
    }
  }
  return Buffer.byteLength(JSON.stringify(text))
}

/** Bytes of an MQTT 3.1.1 PUBLISH at QoS 1 (fixed header, topic, packet id, payload). */
export function publishPacketBytes(topic: string, payloadBytes: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + 2 + payloadBytes
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4
  return 1 + lengthBytes + remaining
}

/**
 * Bytes of the `command.ack` event data the default rules make of an ack payload: it is wrapped
 * as `{deviceId, topic, receivedAt, data}` (docs/bridge.md).
 */
export function wrappedEventBytes(deviceId: string, topic: string, dataBytes: number): number {
  const wrapper = JSON.stringify({ deviceId, topic, receivedAt: 9_999_999_999_999, data: 0 })
  return Buffer.byteLength(wrapper) - 1 + dataBytes
}

/**
 * The topic and payload of event `event` with `data`, checked against the gateway's limits.
 * Throws a TypeError for a bad name or data, `payload_too_large` over a limit.
 */
export function prepareEvent(
  deviceId: string,
  event: string,
  data: unknown,
  limits: GatewayLimits,
): { topic: string; payload: Buffer } {
  const problem = eventNameProblem(event)
  if (problem) throw new TypeError(problem)
  const topic = eventTopic(deviceId, event)
  const payload = encodePayload(data)
  const dataBytes = eventDataBytes(payload)
  if (dataBytes > limits.maxEventBytes)
    throw new DeviceError(
      'payload_too_large',
      `event "${event}" data is ${dataBytes} bytes; the gateway passes at most ${limits.maxEventBytes} (pusher.maxEventBytes)`,
    )
  const packetBytes = publishPacketBytes(topic, payload.length)
  if (packetBytes > limits.maxPacketBytes)
    throw new DeviceError(
      'payload_too_large',
      `event "${event}" is a ${packetBytes}-byte packet; the gateway reads at most ${limits.maxPacketBytes} (mqtt.maxPacketBytes)`,
    )
  return { topic, payload }
}

export type Readings = Record<string, number | string | boolean | null>

/** `{ts, ...values}` for telemetry; throws a TypeError for anything but flat readings. */
export function telemetryData(values: Readings, ts: number): Record<string, unknown> {
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new TypeError('telemetry values must be an object of readings')
  const entries = Object.entries(values)
  if (entries.length === 0) throw new TypeError('telemetry needs at least one reading')
  for (const [key, value] of entries) {
    if (key === 'ts') throw new TypeError('"ts" is set by telemetry(); pass it as options.ts')
    const ok =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    if (!ok)
      throw new TypeError(`reading "${key}" must be a finite number, string, boolean or null`)
  }
  if (typeof ts !== 'number' || !Number.isFinite(ts))
    throw new TypeError('options.ts must be a number')
  return { ts, ...values }
}
