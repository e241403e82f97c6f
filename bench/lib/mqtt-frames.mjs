/**
 * Pre-encoded MQTT 3.1.1 frames for thin load generators, and a minimal reader of what a broker
 * sends back (CONNACK, PUBACK, PINGRESP, ...). No mqtt.js on the measured path.
 */

export const PINGREQ = Buffer.from([0xc0, 0])
export const DISCONNECT = Buffer.from([0xe0, 0])

export const CONNACK = 2
export const PUBLISH = 3
export const PUBACK = 4
export const SUBACK = 9
export const PINGRESP = 13

function mqttString(text) {
  const bytes = Buffer.from(text)
  const out = Buffer.allocUnsafe(2 + bytes.length)
  out.writeUInt16BE(bytes.length, 0)
  bytes.copy(out, 2)
  return out
}

function remainingLength(size) {
  const bytes = []
  do {
    let byte = size % 128
    size = Math.floor(size / 128)
    if (size > 0) byte |= 0x80
    bytes.push(byte)
  } while (size > 0)
  return Buffer.from(bytes)
}

function packet(firstByte, body) {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body])
}

/** CONNECT, clean session, keep-alive off; username and password when given. */
export function connectFrame({ clientId, username, password }) {
  let flags = 0x02
  if (username !== undefined) flags |= 0x80
  if (password !== undefined) flags |= 0x40
  const parts = [Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 0]), mqttString(clientId)]
  if (username !== undefined) parts.push(mqttString(username))
  if (password !== undefined) parts.push(mqttString(password))
  return packet(0x10, Buffer.concat(parts))
}

/**
 * PUBLISH of `payload` to `topic` at QoS 0 or 1. For QoS 1, `idOffset` is where the two packet
 * id bytes sit, to be patched per message.
 */
export function publishFrame(topic, payload, qos) {
  const topicBytes = mqttString(topic)
  const id = qos > 0 ? Buffer.from([0, 1]) : Buffer.alloc(0)
  const body = Buffer.concat([topicBytes, id, payload])
  const frame = packet(0x30 | (qos << 1), body)
  const idOffset = qos > 0 ? frame.length - payload.length - 2 : -1
  return { frame, idOffset }
}

/**
 * SUBSCRIBE to one `filter` at `qos` with packet id `packetId`. The broker's PUBLISH frames at
 * QoS 0 carry the payload from `start + 2 + buf.readUInt16BE(start)` (PacketReader's offsets).
 */
export function subscribeFrame(filter, qos = 0, packetId = 1) {
  const id = Buffer.allocUnsafe(2)
  id.writeUInt16BE(packetId, 0)
  return packet(0x82, Buffer.concat([id, mqttString(filter), Buffer.from([qos])]))
}

const READING_HEAD = '{"celsius":21.5,"humidity":40.2,"seq":123456,"pad":"'

/**
 * A JSON payload of exactly `bytes` bytes: `head` (by default a device reading; it must end in
 * `"pad":"`) padded with a filler string.
 */
export function jsonPayload(bytes, head = READING_HEAD) {
  const tail = '"}'
  const pad = bytes - head.length - tail.length
  if (pad < 0) throw new Error(`payload of ${bytes} bytes is too small`)
  const text = `${head}${'x'.repeat(pad)}${tail}`
  JSON.parse(text)
  return Buffer.from(text)
}

/**
 * Splits a broker's byte stream into packets: `onPacket(type, buf, start, end)` per packet, the
 * variable header and payload in buf[start, end). Partial packets are kept for the next chunk.
 */
export class PacketReader {
  pending = null

  constructor(onPacket) {
    this.onPacket = onPacket
  }

  feed(chunk) {
    let buf = chunk
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk])
      this.pending = null
    }
    const length = buf.length
    let off = 0
    while (length - off >= 2) {
      let size = 0
      let multiplier = 1
      let at = off + 1
      let complete = false
      while (at < length && at < off + 5) {
        const byte = buf[at++]
        size += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) {
          complete = true
          break
        }
      }
      if (!complete || at + size > length) break
      this.onPacket(buf[off] >> 4, buf, at, at + size)
      off = at + size
    }
    if (off < length) this.pending = Buffer.from(buf.subarray(off))
  }
}
