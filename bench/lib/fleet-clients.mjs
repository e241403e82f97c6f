import net from 'node:net'
import { Histogram } from './histogram.mjs'
import {
  CONNACK,
  connectFrame,
  DISCONNECT,
  PacketReader,
  SUBACK,
  subscribeFrame,
} from './mqtt-frames.mjs'
import { openSubscribers } from './pusher-subscribers.mjs'

/**
 * Many thin clients at once, for the scenarios that hold or churn connections: raw MQTT sessions
 * (pre-encoded CONNECT, TCP_NODELAY, nothing parsed but the packet type) and thin Pusher
 * subscribers (pusher-subscribers.mjs), opened with a bound on handshakes in flight and timed.
 */

/** Runs `start(i)` for i in [0, count) with at most `concurrency` pending; resolves to the results. */
export async function pooled(count, concurrency, start) {
  const results = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      results[i] = await start(i)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker))
  return results
}

/**
 * One MQTT 3.1.1 session over raw TCP: CONNECT (clean session, keep-alive off) once connected,
 * then `onPacket(type, buf, start, end)` for every packet after the CONNACK. `connack` resolves
 * to the µs from the connect call to the CONNACK (code 0), and rejects on a refusal or a close.
 */
export class MqttSession {
  /** The socket closed (by either side). */
  closed = false
  /** We closed it (close() or reset()); a close without this came from the server. */
  closing = false

  constructor({ host, port }, credentials, { onPacket = () => {} } = {}) {
    const startedAt = performance.now()
    this.clientId = credentials.clientId
    this.socket = net.connect({ host, port, noDelay: true })
    let subscribed = null
    this.connack = new Promise((resolve, reject) => {
      this.reader = new PacketReader((type, buf, start, end) => {
        if (type === CONNACK) {
          const code = buf[start + 1]
          if (code === 0) resolve((performance.now() - startedAt) * 1000)
          else reject(new Error(`CONNACK ${code} for ${credentials.clientId}`))
        } else if (type === SUBACK && subscribed) {
          subscribed(buf[start + 2])
          subscribed = null
        } else onPacket(type, buf, start, end)
      })
      this.socket.once('close', () =>
        reject(new Error(`${credentials.clientId}: closed before CONNACK`)),
      )
    })
    // Marked handled; whoever awaits it still sees the rejection.
    this.connack.catch(() => {})
    this.subscribeOnce = (filter, qos) =>
      new Promise((resolve) => {
        subscribed = resolve
        this.socket.write(subscribeFrame(filter, qos, 1))
      })
    this.socket.on('connect', () => this.socket.write(connectFrame(credentials)))
    this.socket.on('data', (chunk) => this.reader.feed(chunk))
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
    })
  }

  /** SUBSCRIBE to one filter; resolves to the SUBACK return code (0x80: refused). */
  subscribe(filter, qos = 0) {
    return this.subscribeOnce(filter, qos)
  }

  get closedByServer() {
    return this.closed && !this.closing
  }

  /** DISCONNECT and a FIN, as a device that goes away politely. */
  close() {
    this.closing = true
    if (!this.socket.destroyed) this.socket.end(DISCONNECT)
  }

  /** A reset, as a device that loses its network. */
  reset() {
    this.closing = true
    if (!this.socket.destroyed) this.socket.resetAndDestroy()
  }
}

/** Latency quantiles (µs) of a histogram, for a result line. */
export const quantiles = (hist) => ({
  p50Us: hist.quantile(0.5),
  p99Us: hist.quantile(0.99),
  p999Us: hist.quantile(0.999),
})

/**
 * Opens one MQTT session per entry of `credentials` ({ clientId, username, password }), at most
 * `concurrency` CONNECTs in flight (Infinity: all at once), and waits for every CONNACK. The
 * latencies also go to `hist` when given (one histogram over several batches).
 */
export async function openDevices(
  target,
  credentials,
  { concurrency = 100, onPacket, hist = new Histogram() } = {},
) {
  const start = performance.now()
  const sessions = await pooled(credentials.length, concurrency, async (i) => {
    const session = new MqttSession(target, credentials[i], { onPacket })
    hist.record(await session.connack)
    return session
  })
  const ms = performance.now() - start
  return { sessions, ms, perSec: (sessions.length / ms) * 1000, ...quantiles(hist) }
}

/**
 * Opens `count` thin Pusher subscribers, subscriber i on `channelOf(i)` (signed with the app
 * secret), at most `concurrency` handshakes in flight. Latency: from the TCP connect to
 * `pusher_internal:subscription_succeeded`, also recorded in `hist` when given. `onEvent(nowUs,
 * t)` gets the `"t"` field of events.
 */
export async function openBrowsers(
  ws,
  count,
  { channelOf, concurrency = 100, onEvent = () => {}, hist = new Histogram() } = {},
) {
  const start = performance.now()
  const subscribers = await pooled(count, concurrency, async (i) => {
    const at = performance.now()
    const [subscriber] = await openSubscribers({
      ...ws,
      channel: channelOf(i),
      n: 1,
      field: 't',
      onEvent,
    })
    hist.record((performance.now() - at) * 1000)
    return subscriber
  })
  const ms = performance.now() - start
  return { subscribers, ms, perSec: (subscribers.length / ms) * 1000, ...quantiles(hist) }
}
