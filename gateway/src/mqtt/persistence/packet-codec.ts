import type { PersistedPacket } from './types.js'

/**
 * How a packet is stored: its payload as a BLOB column, every other field as JSON text.
 *
 * aedes and the abstract suite compare packets field by field, so the round trip keeps exactly
 * the fields it was given: a key holding `undefined` (aedes-packet sets `messageId: undefined`)
 * stays a key holding `undefined`, a string payload stays a string, and Buffers inside the
 * packet (MQTT 5 `correlationData`) stay Buffers. Plain JSON loses all three, so they are tagged
 * with keys that start with U+0000, which no MQTT string may contain [MQTT-1.5.3-2]: a user
 * property can never be mistaken for a tag.
 */
export interface EncodedPacket {
  json: string
  payload: Buffer | null
  payloadKind: PayloadKind
}

/** `payload_kind` column: where the payload went. */
export const PayloadKind = {
  /** No payload column: the packet has no payload key, or an odd one (kept in the JSON). */
  InJson: 0,
  /** Bytes (Buffer or Uint8Array), returned as a Buffer. */
  Bytes: 1,
  /** A string payload, stored as its UTF-8 bytes and returned as a string. */
  Utf8: 2,
} as const
export type PayloadKind = (typeof PayloadKind)[keyof typeof PayloadKind]

const BYTES_TAG = '\u0000b'
const UNDEFINED_TAG = '\u0000u'

export function encodePacket(packet: PersistedPacket): EncodedPacket {
  const { payload, ...rest } = packet
  if (payload instanceof Uint8Array) {
    return { json: encodeJson(rest), payload: toBuffer(payload), payloadKind: PayloadKind.Bytes }
  }
  if (typeof payload === 'string') {
    return {
      json: encodeJson(rest),
      payload: Buffer.from(payload, 'utf8'),
      payloadKind: PayloadKind.Utf8,
    }
  }
  return { json: encodeJson(packet), payload: null, payloadKind: PayloadKind.InJson }
}

export function decodePacket(
  json: string,
  payload: Buffer | null,
  payloadKind: number,
): PersistedPacket {
  const packet = revive(JSON.parse(json)) as PersistedPacket
  if (payloadKind === PayloadKind.Bytes) packet.payload = payload ?? Buffer.alloc(0)
  else if (payloadKind === PayloadKind.Utf8)
    packet.payload = (payload ?? Buffer.alloc(0)).toString()
  return packet
}

/** One value in the tagged JSON form, for `json_set(packet, '$.field', json(?))`. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, tagValue)
}

function tagValue(this: unknown, key: string, value: unknown): unknown {
  // `value` has already been through toJSON (a Buffer arrives as {type, data}); read the original
  // from the holder (for the top-level value, a wrapper holding it under the key '').
  const original = (this as Record<string, unknown>)[key]
  if (original instanceof Uint8Array) {
    return { [BYTES_TAG]: toBuffer(original).toString('base64') }
  }
  if (original === undefined) return { [UNDEFINED_TAG]: 1 }
  return value
}

/** Replaces tags in place, so that a key holding `undefined` keeps existing. */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i])
    return value
  }
  const object = value as Record<string, unknown>
  const keys = Object.keys(object)
  if (keys.length === 1) {
    if (keys[0] === UNDEFINED_TAG) return undefined
    if (keys[0] === BYTES_TAG) return Buffer.from(String(object[BYTES_TAG]), 'base64')
  }
  for (const key of keys) object[key] = revive(object[key])
  return object
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
}
