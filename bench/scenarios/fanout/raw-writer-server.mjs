import { createHash } from 'node:crypto'
import net from 'node:net'
import { announceBaseline, BASELINE_CHANNEL } from '../../lib/baseline-ready.mjs'

/**
 * The Node upper bound for fan-out: a `net` server that does the WebSocket handshake itself and,
 * per event, builds one text frame (header and the same JSON the gateway sends) and writes that
 * one buffer to every subscribed socket. Events that arrive together on the trigger port become
 * one buffer of several frames, written once per socket (what corking would give). No `ws`, no
 * per-socket framing, no masking, no per-socket state beyond a subscription flag.
 * Handshake as bench/fanout/bare-ws-server.mjs: a fake connection_established, any subscribe
 * answered without a signature check; client pings are answered. The trigger port takes the same
 * lines as that server (bench/fanout/trigger.mjs, kind `line`).
 */
const EVENT = 'tick'
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const subscribers = new Set()
let nextId = 0

/** An unmasked, unfragmented server frame. */
function frame(opcode, payload) {
  const size = payload.length
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(header + size)
  out[0] = 0x80 | opcode
  if (size < 126) out[1] = size
  else if (size < 65536) {
    out[1] = 126
    out.writeUInt16BE(size, 2)
  } else {
    out[1] = 127
    out.writeBigUInt64BE(BigInt(size), 2)
  }
  payload.copy(out, header)
  return out
}

const text = (value) => frame(1, Buffer.from(JSON.stringify(value)))

/** Client frames are masked; returns [opcode, unmasked payload] or null when incomplete. */
function readClientFrame(buf, off) {
  if (buf.length - off < 2) return null
  let size = buf[off + 1] & 0x7f
  let at = off + 2
  if (size === 126) {
    if (buf.length - off < 4) return null
    size = buf.readUInt16BE(off + 2)
    at = off + 4
  } else if (size === 127) {
    if (buf.length - off < 10) return null
    size = Number(buf.readBigUInt64BE(off + 2))
    at = off + 10
  }
  if (buf.length < at + 4 + size) return null
  const mask = buf.subarray(at, at + 4)
  const payload = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) payload[i] = buf[at + 4 + i] ^ mask[i & 3]
  return { opcode: buf[off] & 0x0f, payload, end: at + 4 + size }
}

function onClient(socket) {
  socket.setNoDelay(true)
  let pending = Buffer.alloc(0)
  let upgraded = false
  socket.on('error', () => {})
  socket.on('close', () => subscribers.delete(socket))
  socket.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    let off = 0
    if (!upgraded) {
      const end = pending.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = pending.toString('latin1', 0, end)
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1]
      if (!key) {
        socket.destroy()
        return
      }
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64')
      nextId++
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      )
      socket.write(
        text({
          event: 'pusher:connection_established',
          data: JSON.stringify({ socket_id: `${nextId}.${nextId}`, activity_timeout: 120 }),
        }),
      )
      upgraded = true
      off = end + 4
    }
    for (;;) {
      const f = readClientFrame(pending, off)
      if (!f) break
      off = f.end
      if (f.opcode === 8) {
        socket.end(frame(8, Buffer.alloc(0)))
        subscribers.delete(socket)
      } else if (f.opcode === 9) socket.write(frame(10, f.payload))
      else if (f.opcode === 1) {
        const message = f.payload.toString('utf8')
        if (message.includes('"pusher:subscribe"')) {
          subscribers.add(socket)
          socket.write(
            text({
              event: 'pusher_internal:subscription_succeeded',
              channel: BASELINE_CHANNEL,
              data: '{}',
            }),
          )
        } else if (message.includes('"pusher:ping"')) {
          socket.write(text({ event: 'pusher:pong', data: '{}' }))
        }
      }
    }
    pending = off < pending.length ? Buffer.from(pending.subarray(off)) : Buffer.alloc(0)
  })
}

/** The frames of every complete line of a trigger chunk, in one buffer, written to each socket. */
function broadcast(lines) {
  const frames = lines.map((data) =>
    frame(1, Buffer.from(JSON.stringify({ event: EVENT, channel: BASELINE_CHANNEL, data }))),
  )
  const out = frames.length === 1 ? frames[0] : Buffer.concat(frames)
  for (const socket of subscribers) socket.write(out)
}

const server = net.createServer(onClient)
const triggerServer = net.createServer((socket) => {
  socket.setNoDelay(true)
  let rest = ''
  socket.on('data', (chunk) => {
    const lines = (rest + chunk.toString('utf8')).split('\n')
    rest = lines.pop() ?? ''
    if (lines.length > 0) broadcast(lines)
  })
  socket.on('error', () => {})
})

await Promise.all([
  new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)),
  new Promise((resolve) => triggerServer.listen(0, '127.0.0.1', resolve)),
])
announceBaseline({ wsPort: server.address().port, triggerPort: triggerServer.address().port })
