import net from 'node:net'
import { MqttSession, quantiles } from './fleet-clients.mjs'
import { Histogram } from './histogram.mjs'
import { jsonPayload, publishFrame } from './mqtt-frames.mjs'

/**
 * A steady event stream for the scenarios that watch receivers while something else happens
 * (churn, a slow consumer): one source socket (TCP_NODELAY) writing pre-encoded events stamped
 * with the send time in µs, an open-loop pacer, and a latency recorder for the receivers.
 */
const STAMP_DIGITS = 16
const HEAD = `{"t":${'1'.repeat(STAMP_DIGITS)},"pad":"`
const ORIGIN_US = performance.timeOrigin * 1000

/** Now, in µs on the clock of the payload stamps. */
export const nowUs = () => ORIGIN_US + performance.now() * 1000

/**
 * The source: `mqtt` is a device session publishing QoS 0 to `topic` (`credentials`:
 * { clientId, username, password }); `line` writes the payload and a newline to a bare server's
 * trigger port. Either way the payload is `{"t":<µs>,"pad":"xx…"}` of exactly `payloadBytes`.
 */
export async function openStreamSource({ kind, host, port, credentials, topic, payloadBytes }) {
  const payload = jsonPayload(payloadBytes, HEAD)
  let socket
  let template
  if (kind === 'mqtt') {
    const session = new MqttSession({ host, port }, credentials)
    await session.connack
    socket = session.socket
    template = publishFrame(topic, payload, 0).frame
  } else {
    socket = net.connect({ host, port, noDelay: true })
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.on('error', () => {})
    template = Buffer.concat([payload, Buffer.from('\n')])
  }
  const payloadAt = kind === 'mqtt' ? template.length - payload.length : 0
  const stampAt = payloadAt + HEAD.indexOf('1')
  let sent = 0
  return {
    payloadBytes: payload.length,
    get sent() {
      return sent
    },
    /** Writes `count` events in one write, all stamped now. */
    send(count) {
      const stamp = String(Math.round(nowUs()))
      const out = Buffer.allocUnsafe(template.length * count)
      for (let i = 0; i < count; i++) {
        const base = i * template.length
        template.copy(out, base)
        out.write(stamp, base + stampAt, 'latin1')
      }
      sent += count
      socket.write(out)
    },
    close() {
      socket.destroy()
    },
  }
}

/**
 * Open loop: every millisecond, writes what is due at `eventsPerSec` since the start; never
 * waits for deliveries. `stop()` ends it and returns the events it sent.
 */
export function pace(source, eventsPerSec) {
  const t0 = performance.now()
  let sent = 0
  const pump = () => {
    const due = Math.floor(((performance.now() - t0) * eventsPerSec) / 1000)
    if (due > sent) {
      source.send(due - sent)
      sent = due
    }
  }
  const timer = setInterval(pump, 1)
  return {
    get sent() {
      return sent
    },
    stop() {
      pump()
      clearInterval(timer)
      return sent
    },
  }
}

/**
 * Latency of a group of receivers, by send time: `onEvent(nowUs, stampUs)` per event received;
 * the events stamped between `open()` and `close()` are recorded whenever they arrive (after
 * `close()` too, during a drain). `result(expected)`, once the drain is over, counts the
 * `expected` events of the window that never arrived as the time waited for them since
 * `close()`, so losses show in the tail rather than vanishing from it.
 */
export function latencyRecorder() {
  const hist = new Histogram()
  let from = Number.POSITIVE_INFINITY
  let to = Number.POSITIVE_INFINITY
  let received = 0
  let total = 0
  return {
    onEvent(atUs, stampUs) {
      total++
      if (stampUs < from || stampUs >= to) return
      received++
      hist.record(atUs - stampUs)
    },
    /** Every event received so far, in or out of a window. */
    get total() {
      return total
    },
    /** Events of the window received so far. */
    get received() {
      return received
    },
    open(atUs = nowUs()) {
      hist.reset()
      received = 0
      from = atUs
      to = Number.POSITIVE_INFINITY
    },
    close(atUs = nowUs()) {
      to = atUs
    },
    result(expected) {
      const missing = Math.max(0, expected - received)
      const waitedUs = nowUs() - to
      for (let i = 0; i < missing; i++) hist.record(waitedUs)
      return { received, missing, ...quantiles(hist) }
    },
  }
}
