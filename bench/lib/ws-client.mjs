import { createHmac, randomBytes } from 'node:crypto'

/**
 * What the thin Pusher-protocol clients of the benchmarks share (RFC 6455 from the client side,
 * Pusher protocol v7): the upgrade request, masked client frames, the parsing of a server frame's
 * header, and the signed subscribe.
 */

/** The HTTP upgrade to a Pusher app's WebSocket endpoint. */
export function upgradeRequest(host, port, key) {
  return (
    `GET /app/${key}?protocol=7&client=fleetcast-bench&version=1 HTTP/1.1\r\n` +
    `Host: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
    'Sec-WebSocket-Version: 13\r\n\r\n'
  )
}

/** A client frame (masked, as RFC 6455 §5.3 requires of clients). */
export function maskedFrame(firstByte, payload) {
  const size = payload.length
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + 4 + size)
  frame[0] = firstByte
  if (size < 126) frame[1] = 0x80 | size
  else if (size < 65536) {
    frame[1] = 0x80 | 126
    frame.writeUInt16BE(size, 2)
  } else {
    frame[1] = 0x80 | 127
    frame.writeBigUInt64BE(BigInt(size), 2)
  }
  const mask = randomBytes(4)
  mask.copy(frame, header)
  for (let i = 0; i < size; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3]
  return frame
}

/** The answer to a server `pusher:ping` (the gateway pings sockets silent for a while). */
export const PONG = maskedFrame(0x81, Buffer.from('{"event":"pusher:pong","data":{}}'))

/**
 * Reads the header of the unmasked server frame at buf[off] (RFC 6455 §5.2) into `frame`
 * ({ opcode, start, stop }: the payload is buf[start, stop)), reused by the caller so the read
 * loop allocates nothing. False when the frame has not fully arrived within `length` bytes.
 */
export function readFrame(buf, off, length, frame) {
  if (length - off < 2) return false
  let size = buf[off + 1] & 0x7f
  let header = 2
  if (size === 126) {
    if (length - off < 4) return false
    size = buf.readUInt16BE(off + 2)
    header = 4
  } else if (size === 127) {
    if (length - off < 10) return false
    size = Number(buf.readBigUInt64BE(off + 2))
    header = 10
  }
  const start = off + header
  if (start + size > length) return false
  frame.opcode = buf[off] & 0x0f
  frame.start = start
  frame.stop = start + size
  return true
}

/** The `pusher:subscribe` frame for a private channel, signed with the app secret (§9). */
export function subscribeFrame({ socketId, key, secret, channel }) {
  const signature = createHmac('sha256', secret).update(`${socketId}:${channel}`).digest('hex')
  const subscribe = { event: 'pusher:subscribe', data: { channel, auth: `${key}:${signature}` } }
  return maskedFrame(0x81, Buffer.from(JSON.stringify(subscribe)))
}
