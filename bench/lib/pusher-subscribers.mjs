import net from 'node:net'
import { maskedFrame, PONG, readFrame, subscribeFrame, upgradeRequest } from './ws-client.mjs'

/**
 * Thin Pusher-protocol subscribers over raw TCP: a hand-written upgrade, a minimal frame parser
 * (server frames are unmasked and not fragmented) and JSON only for the handshake. Event frames
 * are scanned for a numeric `field` (`"seq":123`) inside their JSON-string data, and
 * `onEvent(nowUs, value)` is called per event frame that has it. With `fields` (names) instead,
 * frames are recognised by the first one and `onEvent(nowUs, value1, value2, ...)` gets each
 * field's value (-1 for a field a frame lacks).
 */
const ORIGIN_US = performance.timeOrigin * 1000
/** The frame being read; data handlers run one at a time. */
const FRAME = { opcode: 0, start: 0, stop: 0 }

export async function openSubscribers({
  host,
  port,
  key,
  secret,
  channel,
  n,
  field,
  fields = [field],
  onEvent,
}) {
  const markers = fields.map((name) => Buffer.from(`\\"${name}\\":`))
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const subscriber = new Subscriber({ host, port, key, secret, channel, markers, onEvent })
          subscriber.onReady = () => resolve(subscriber)
          subscriber.onFail = reject
        }),
    ),
  )
}

class Subscriber {
  state = 'handshake'
  pending = null
  closed = false
  onReady = () => {}
  onFail = () => {}

  constructor({ host, port, key, secret, channel, markers, onEvent }) {
    Object.assign(this, { key, secret, channel, markers, marker: markers[0], onEvent })
    this.socket = net.connect({ host, port, noDelay: true })
    this.socket.on('data', (chunk) => this.#onData(chunk))
    this.socket.on('error', (error) => this.#fail(error))
    this.socket.on('close', () => {
      this.closed = true
      this.#fail(new Error('socket closed during the handshake'))
    })
    this.socket.write(upgradeRequest(host, port, key))
  }

  #fail(error) {
    if (this.state === 'ready' || this.state === 'failed') return
    this.state = 'failed'
    this.onFail(error)
  }

  #onData(chunk) {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = null
    let off = 0
    if (this.state === 'handshake') {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) {
        this.pending = buf
        return
      }
      if (!buf.toString('latin1', 0, 12).endsWith(' 101')) {
        this.#fail(new Error(`upgrade refused: ${buf.toString('latin1', 0, end)}`))
        return
      }
      this.state = 'established'
      off = end + 4
    }
    const length = buf.length
    let nowUs = 0
    const frame = FRAME
    while (readFrame(buf, off, length, frame)) {
      const { opcode, start, stop } = frame
      if (opcode === 1 && this.state === 'ready') {
        const at = buf.indexOf(this.marker, start)
        if (at >= 0 && at < stop) {
          const value = digitsAt(buf, at + this.marker.length, stop)
          if (nowUs === 0) nowUs = ORIGIN_US + performance.now() * 1000
          const markers = this.markers
          if (markers.length === 1) this.onEvent(nowUs, value)
          else if (markers.length === 2)
            this.onEvent(nowUs, value, numberAfter(buf, markers[1], start, stop))
          else
            this.onEvent(
              nowUs,
              value,
              ...markers.slice(1).map((marker) => numberAfter(buf, marker, start, stop)),
            )
        } else if (buf.toString('utf8', start, stop).includes('"pusher:ping"')) {
          this.socket.write(PONG)
        }
      } else if (opcode === 1) {
        this.#onHandshakeFrame(buf.toString('utf8', start, stop))
      } else if (opcode === 9) {
        this.socket.write(maskedFrame(0x8a, buf.subarray(start, stop)))
      }
      off = stop
    }
    if (off < length) this.pending = Buffer.from(buf.subarray(off))
  }

  #onHandshakeFrame(text) {
    const frame = JSON.parse(text)
    if (this.state === 'established' && frame.event === 'pusher:connection_established') {
      const socketId = JSON.parse(frame.data).socket_id
      this.state = 'subscribing'
      const { key, secret, channel } = this
      this.socket.write(subscribeFrame({ socketId, key, secret, channel }))
    } else if (
      this.state === 'subscribing' &&
      frame.event === 'pusher_internal:subscription_succeeded'
    ) {
      this.state = 'ready'
      this.onReady()
    } else {
      this.#fail(new Error(`unexpected frame during the handshake: ${text.slice(0, 200)}`))
    }
  }

  close() {
    this.socket.destroy()
  }
}

/** The non-negative integer written from buf[from] on (digits only, up to `stop`); 0 if none. */
function digitsAt(buf, from, stop) {
  let value = 0
  for (let i = from; i < stop && buf[i] >= 48 && buf[i] <= 57; i++) value = value * 10 + buf[i] - 48
  return value
}

/**
 * The non-negative integer right after `marker` in buf[start, stop) (a JSON field such as
 * `"seq":`), or -1 when the marker is not there.
 */
export function numberAfter(buf, marker, start, stop) {
  const at = buf.indexOf(marker, start)
  return at >= 0 && at + marker.length <= stop ? digitsAt(buf, at + marker.length, stop) : -1
}
