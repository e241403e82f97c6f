import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

/**
 * An unmasked, final text frame around `payload` (RFC 6455 §5.2: servers never mask): FIN and
 * opcode 0x1, then a 7-bit length, or 126 and 16 bits, or 127 and 64 bits.
 */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(headerLength + length)
  frame[0] = 0x81
  if (headerLength === 2) frame[1] = length
  else if (headerLength === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(0, 2)
    frame.writeUInt32BE(length, 6)
  }
  payload.copy(frame, headerLength)
  return frame
}

let lastPayload: Buffer | undefined
let lastFrame: Buffer | undefined

/**
 * The frame of a payload that is written to many sockets in a row (a channel's fan-out): built for
 * the first socket, reused for the others, so an event is framed once, not once per socket.
 */
function sharedFrame(payload: Buffer): Buffer {
  if (payload !== lastPayload || lastFrame === undefined) {
    lastFrame = textFrame(payload)
    lastPayload = payload
  }
  return lastFrame
}

/** The parts of a ws 8 WebSocket that a direct write needs (ws is pinned; see writeFrame). */
interface WsInternals {
  _socket?: Socket
  _sender?: { _state?: unknown; _queue?: unknown[] }
}

function uncork(socket: Socket): void {
  socket.uncork()
}

/**
 * Writes a text frame straight to the socket under `ws`: one write of a frame shared by every
 * subscriber instead of a header allocation, cork, two writes and uncork per socket in
 * `ws.send`. Only when ws's sender is idle (state 0, nothing queued; it queues only while
 * compressing, which this server does not enable), so frames stay in order with anything ws
 * writes itself (pings, close). The socket is corked until the next tick, so several frames for
 * one socket in one turn leave in one write. Returns false when it could not (the caller then
 * uses `ws.send`).
 */
export function writeFrame(ws: WebSocket, payload: Buffer): boolean {
  const { _socket: socket, _sender: sender } = ws as unknown as WsInternals
  if (!socket || sender?._state !== 0 || sender._queue?.length !== 0) return false
  if (socket.writableCorked === 0) {
    socket.cork()
    process.nextTick(uncork, socket)
  }
  socket.write(sharedFrame(payload))
  return true
}
