import net from 'node:net'
import { maskedFrame, PONG, readFrame, subscribeFrame, upgradeRequest } from '../lib/ws-client.mjs'

/**
 * Thin Pusher-protocol WebSocket clients over raw TCP: a hand-written upgrade request, a minimal
 * frame parser (server frames are unmasked and never fragmented by ws) and JSON parsing only for
 * the two handshake frames. Event frames are scanned for the payload timestamp and nothing else.
 */

/** `{\"t\":` as it appears inside the JSON-string `data` of a Pusher event frame. */
const STAMP = Buffer.from('\\"t\\":')
const DIGITS = 16
const ORIGIN_US = performance.timeOrigin * 1000
/** One receive buffer for every socket: onread callbacks run one at a time. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)
/** The frame being read; read callbacks run one at a time. */
const FRAME = { opcode: 0, start: 0, stop: 0 }

/** Where the digits sat in the last event frame: every frame of a run has the same layout. */
let stampOffset = -1

/** Index of the first timestamp digit in the frame payload [start, stop), or -1. */
function findStamp(buf, start, stop) {
  let at = start + stampOffset
  if (stampOffset < 0 || at + DIGITS > stop || !stampBefore(buf, at)) {
    const found = buf.indexOf(STAMP, start)
    if (found < 0 || found + STAMP.length + DIGITS > stop) return -1
    at = found + STAMP.length
    stampOffset = at - start
  }
  return at
}

function stampBefore(buf, at) {
  for (let i = 0, base = at - STAMP.length; i < STAMP.length; i++) {
    if (buf[base + i] !== STAMP[i]) return false
  }
  return true
}

const HANDSHAKE = 0
const AWAIT_ESTABLISHED = 1
const AWAIT_SUBSCRIBED = 2
const READY = 3

/**
 * Opens `n` sockets subscribed to `channel`, 200 handshakes in flight at most. Every event frame
 * calls `sink.delivered(nowUs, stampUs)`.
 */
export async function openPusherSockets({ host, port, key, secret, channel, n, sink }) {
  const concurrency = 200
  const sockets = []
  let next = 0
  let failed = null
  await new Promise((resolve, reject) => {
    let ready = 0
    const startOne = () => {
      if (failed || next >= n) return
      next++
      const conn = new PusherSocket({ host, port, key, secret, channel, sink })
      sockets.push(conn)
      conn.onReady = () => {
        ready++
        if (ready === n) resolve()
        else startOne()
      }
      conn.onFail = (error) => {
        failed = error
        reject(error)
      }
    }
    for (let i = 0; i < Math.min(concurrency, n); i++) startOne()
  })
  return sockets
}

class PusherSocket {
  state = HANDSHAKE
  pending = null
  closed = false
  closeCode = null
  onReady = () => {}
  onFail = () => {}

  constructor({ host, port, key, secret, channel, sink }) {
    this.key = key
    this.secret = secret
    this.channel = channel
    this.sink = sink
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (nread, buf) => this.#onRead(buf, nread) },
    })
    this.socket.on('error', (error) => this.#fail(error))
    this.socket.on('close', () => {
      this.closed = true
      if (this.state !== READY) this.#fail(new Error('socket closed during the handshake'))
    })
    this.socket.write(upgradeRequest(host, port, key))
  }

  #fail(error) {
    if (this.state === READY) return
    this.state = -1
    this.onFail(error)
  }

  #onRead(chunk, nread) {
    let buf = chunk
    let length = nread
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, nread)])
      length = buf.length
      this.pending = null
    }
    let off = 0
    if (this.state === HANDSHAKE) {
      const end = buf.subarray(0, length).indexOf('\r\n\r\n')
      if (end < 0) {
        this.pending = Buffer.from(buf.subarray(0, length))
        return
      }
      if (!buf.toString('latin1', 0, 12).endsWith(' 101')) {
        this.#fail(new Error(`upgrade refused: ${buf.toString('latin1', 0, end)}`))
        return
      }
      this.state = AWAIT_ESTABLISHED
      off = end + 4
    }
    let nowUs = 0
    const frame = FRAME
    while (readFrame(buf, off, length, frame)) {
      const { opcode, start, stop } = frame
      if (opcode === 1 && this.state === READY) {
        const at = findStamp(buf, start, stop)
        if (at >= 0) {
          let stamp = 0
          for (let i = at, e = at + DIGITS; i < e; i++) stamp = stamp * 10 + buf[i] - 48
          if (nowUs === 0) nowUs = ORIGIN_US + performance.now() * 1000
          this.sink.delivered(nowUs, stamp)
        } else if (buf.toString('utf8', start, stop).includes('"pusher:ping"')) {
          this.socket.write(PONG)
        }
      } else if (opcode === 1) {
        this.#onHandshakeFrame(buf.toString('utf8', start, stop))
      } else if (opcode === 8) {
        this.closeCode = stop - start >= 2 ? buf.readUInt16BE(start) : 1005
      } else if (opcode === 9) {
        this.socket.write(maskedFrame(0x8a, buf.subarray(start, stop)))
      }
      off = stop
    }
    if (off < length) this.pending = Buffer.from(buf.subarray(off, length))
  }

  #onHandshakeFrame(text) {
    const frame = JSON.parse(text)
    if (this.state === AWAIT_ESTABLISHED && frame.event === 'pusher:connection_established') {
      const socketId = JSON.parse(frame.data).socket_id
      this.state = AWAIT_SUBSCRIBED
      const { key, secret, channel } = this
      this.socket.write(subscribeFrame({ socketId, key, secret, channel }))
    } else if (
      this.state === AWAIT_SUBSCRIBED &&
      frame.event === 'pusher_internal:subscription_succeeded'
    ) {
      this.state = READY
      this.onReady()
    } else {
      this.#fail(new Error(`unexpected frame during the handshake: ${text.slice(0, 200)}`))
    }
  }

  close() {
    this.socket.destroy()
  }
}
