import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Histogram } from '../lib/histogram.mjs'
import {
  CONNACK,
  connectFrame,
  DISCONNECT,
  jsonPayload,
  PacketReader,
  PINGREQ,
  PINGRESP,
  PUBACK,
  publishFrame,
} from '../lib/mqtt-frames.mjs'
import { serveCommands } from '../lib/processes.mjs'

/**
 * The MQTT load generator, a child of run.mjs pinned to its own core. Raw TCP sockets with
 * TCP_NODELAY and pre-encoded frames; nothing but the packet type is parsed on the way back.
 * Commands: `fleet` (connect every device and keep it), `burst` and `publish` (device publishes
 * over the fleet), `close-fleet`, `churn` (open-loop connects: CONNECT, CONNACK, reset).
 */
const PAYLOAD_BYTES = 100
/** Socket writes per millisecond the schedule aims at, over the whole fleet. */
const WRITES_PER_MS = 20
/** QoS 1 packet ids cycle through 1..ID_RING; each id remembers its send time for the PUBACK. */
const ID_RING = 8192
/** The payload of every PUBLISH; `fleet` may size it (`payloadBytes`). */
let PAYLOAD = jsonPayload(PAYLOAD_BYTES)
/**
 * How many QoS 0 frames a prebuilt batch buffer holds (written as a subarray, no copy), fewer for
 * large payloads so that a device's batch stays within `PREBUILT_BYTES`.
 */
const PREBUILT = 64
const PREBUILT_BYTES = 64 * 1024

let fleet = []
const latency = new Histogram()
/** Latencies are recorded while this is set... */
let recording = false
/** ...for messages and probes sent while this is set (the measurement window). */
let stamping = false

const nowMs = () => performance.now()

class Device {
  constructor({ id, username, password }) {
    this.id = id
    this.connect = connectFrame({ clientId: id, username, password })
    this.topic = `devices/${id}/events/x`
    this.qos0 = publishFrame(this.topic, PAYLOAD, 0)
    this.qos1 = publishFrame(this.topic, PAYLOAD, 1)
    const frame = this.qos0.frame
    this.prebuilt = Math.max(1, Math.min(PREBUILT, Math.floor(PREBUILT_BYTES / frame.length)))
    this.qos0Batch = Buffer.allocUnsafe(frame.length * this.prebuilt)
    for (let i = 0; i < this.prebuilt; i++) frame.copy(this.qos0Batch, i * frame.length)
  }
}

/** One MQTT connection: CONNECT on open, then counts what comes back. */
class Connection {
  sent = 0
  acked = 0
  nextId = 0
  closed = false
  connackAt = 0
  /** Outstanding PINGREQs in order: { mark, at }. */
  pings = []
  probeOut = false
  markAt = [0, 0]
  sendTimes = null

  constructor(device, { host, port }, onConnack, onFail) {
    this.device = device
    this.startedAt = nowMs()
    this.onConnack = onConnack
    this.reader = new PacketReader((type, buf, start) => this.#onPacket(type, buf, start))
    this.socket = net.connect({ host, port, noDelay: true })
    this.socket.on('connect', () => this.socket.write(device.connect))
    this.socket.on('data', (chunk) => this.reader.feed(chunk))
    this.socket.on('error', (error) => {
      if (!this.closed) onFail(error)
    })
    this.socket.on('close', () => {
      if (!this.closed) onFail(new Error('closed by the server'))
      this.closed = true
    })
  }

  #onPacket(type, buf, start) {
    if (type === PUBACK) {
      this.acked++
      if (recording) {
        const at = this.sendTimes[buf.readUInt16BE(start) % ID_RING]
        if (at > 0) latency.record((nowMs() - at) * 1000)
      }
    } else if (type === PINGRESP) {
      const ping = this.pings.shift()
      if (!ping) return
      if (ping.mark >= 0) this.markAt[ping.mark] = nowMs()
      else {
        this.probeOut = false
        if (recording) latency.record((nowMs() - ping.at) * 1000)
      }
    } else if (type === CONNACK) {
      this.connackAt = nowMs()
      this.onConnack(buf[start + 1])
    }
  }

  /** Writes `count` PUBLISH frames at `qos` in one write, with a latency probe when asked. */
  publish(count, qos, probe) {
    const device = this.device
    let out
    if (qos === 0) {
      const size = device.qos0.frame.length
      out =
        count <= device.prebuilt
          ? device.qos0Batch.subarray(0, count * size)
          : Buffer.concat(Array.from({ length: count }, () => device.qos0.frame))
    } else {
      const { frame, idOffset } = device.qos1
      this.sendTimes ??= new Float64Array(ID_RING)
      out = Buffer.allocUnsafe(frame.length * count)
      const at = nowMs()
      for (let i = 0; i < count; i++) {
        const base = i * frame.length
        frame.copy(out, base)
        this.nextId = (this.nextId % (ID_RING - 1)) + 1
        out.writeUInt16BE(this.nextId, base + idOffset)
        this.sendTimes[this.nextId] = stamping ? at : 0
      }
    }
    this.sent += count
    if (probe) {
      this.probeOut = true
      this.pings.push({ mark: -1, at: nowMs() })
      this.socket.cork()
      this.socket.write(out)
      this.socket.write(PINGREQ)
      this.socket.uncork()
    } else this.socket.write(out)
  }

  mark(index) {
    this.markAt[index] = 0
    this.pings.push({ mark: index, at: nowMs() })
    this.socket.write(PINGREQ)
  }

  close() {
    this.closed = true
    this.socket.end(DISCONNECT)
  }

  reset() {
    this.closed = true
    this.socket.resetAndDestroy()
  }
}

/**
 * Connects every device and keeps the connections, `concurrency` CONNECTs in flight at most.
 * `payloadBytes` sizes the JSON payload of the publishes (100 by default).
 */
async function fleetCommand({ host, port, devices, concurrency, payloadBytes = PAYLOAD_BYTES }) {
  PAYLOAD = jsonPayload(payloadBytes)
  for (const conn of fleet) conn.close()
  fleet = []
  const hist = new Histogram()
  const start = nowMs()
  let refused = null
  await new Promise((resolve, reject) => {
    let next = 0
    let done = 0
    const startOne = () => {
      if (refused || next >= devices.length) return
      const device = new Device(devices[next++])
      const conn = new Connection(
        device,
        { host, port },
        (code) => {
          if (code !== 0) {
            refused = new Error(`CONNACK ${code} for ${device.id}`)
            reject(refused)
            return
          }
          hist.record((conn.connackAt - conn.startedAt) * 1000)
          done++
          if (done === devices.length) resolve()
          else startOne()
        },
        (error) => reject(new Error(`${device.id}: ${error.message}`)),
      )
      fleet.push(conn)
    }
    for (let i = 0; i < Math.min(concurrency, devices.length); i++) startOne()
  })
  const seconds = (nowMs() - start) / 1000
  return {
    n: devices.length,
    ms: Math.round(seconds * 1000),
    connectsPerSec: devices.length / seconds,
    p50Us: hist.quantile(0.5),
    p99Us: hist.quantile(0.99),
  }
}

function closedCount() {
  return fleet.filter((c) => c.closed).length
}

/** The QoS of the last burst or step: what the next one waits for before it starts. */
let lastQos = 0

/** Resolves once every connection has answered its pings and, at QoS 1, every PUBLISH. */
async function untilIdle(qos, maxMs) {
  const start = nowMs()
  const idle = () =>
    fleet.every((c) => c.closed || (c.pings.length === 0 && (qos === 0 || c.acked >= c.sent)))
  while (!idle() && nowMs() - start < maxMs) await sleep(1)
  return { drained: idle(), drainMs: Math.round(nowMs() - start) }
}

function resetCounters() {
  for (const conn of fleet) {
    conn.acked = 0
    conn.sent = 0
  }
}

/**
 * Every connection writes its share of `count` in one write followed by a PINGREQ; the time until
 * the last PINGRESP (and PUBACK) is an upper estimate of capacity.
 */
async function burstCommand({ qos, count, maxMs }) {
  // QoS 0 frames of an earlier step are never acknowledged: wait as that step's QoS requires.
  await untilIdle(lastQos, maxMs)
  lastQos = qos
  resetCounters()
  const per = Math.max(1, Math.ceil(count / fleet.length))
  const start = nowMs()
  for (const conn of fleet) {
    conn.publish(per, qos, false)
    conn.mark(1)
  }
  const { drained } = await untilIdle(qos, maxMs)
  const seconds = (nowMs() - start) / 1000
  return { drained, msgsPerSec: (per * fleet.length) / seconds, closed: closedCount() }
}

/**
 * Open loop at `ratePerSec` over the whole fleet: each connection gets ratePerSec / N, written
 * every G ms (G sized so the fleet makes about WRITES_PER_MS writes per ms), connections staggered.
 * A PINGREQ on every connection marks the window's start and end; the mean time between a
 * connection's two PINGRESPs, against the messages written between its marks, is the rate the
 * broker processed. Latency: PUBACK at QoS 1, a PINGREQ probe behind a batch at QoS 0 (one per ms).
 */
async function publishCommand({ qos, ratePerSec, warmupMs, windowMs, drainMs }) {
  await untilIdle(lastQos, drainMs)
  lastQos = qos
  resetCounters()
  const n = fleet.length
  const group = Math.max(1, Math.ceil(n / WRITES_PER_MS))
  const perConnPerMs = ratePerSec / n / 1000
  const t0 = nowMs()
  let lastTick = -1
  const pump = () => {
    const now = nowMs()
    const elapsed = now - t0
    const tick = Math.floor(elapsed)
    let probe = qos === 0 && stamping
    for (let t = Math.max(lastTick + 1, tick - group + 1); t <= tick; t++) {
      for (let i = t % group; i < n; i += group) {
        const conn = fleet[i]
        if (conn.closed) continue
        const due = Math.floor(elapsed * perConnPerMs + i / n) - conn.sent
        if (due <= 0) continue
        const withProbe = probe && !conn.probeOut
        if (withProbe) probe = false
        conn.publish(due, qos, withProbe)
      }
    }
    lastTick = tick
  }
  const timer = setInterval(pump, 1)
  await sleep(warmupMs)
  pump()
  latency.reset()
  recording = true
  stamping = true
  for (const conn of fleet) if (!conn.closed) conn.mark(0)
  const begin = { at: nowMs(), sent: sum('sent'), acked: sum('acked'), cpu: process.cpuUsage() }
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  pump()
  const end = {
    at: nowMs(),
    sent: sum('sent'),
    acked: sum('acked'),
    cpu: process.cpuUsage(begin.cpu),
  }
  const sentBetween = fleet.map((c) => c.sent)
  stamping = false
  for (const conn of fleet) if (!conn.closed) conn.mark(1)
  process.send({ type: 'window-end' })
  // The schedule keeps running until every connection has answered mark 1: a broker without
  // TCP_NODELAY (mosquitto's default) holds a small PINGRESP back until the client's next segment
  // acknowledges its last write, and an idle client delays that ACK by up to 40 ms.
  const markStart = nowMs()
  const unanswered = () => fleet.some((c) => !c.closed && c.markAt[1] === 0)
  while (unanswered() && nowMs() - markStart < drainMs) await sleep(1)
  const marked = !unanswered()
  const markMs = Math.round(nowMs() - markStart)
  clearInterval(timer)
  const idle = await untilIdle(qos, drainMs)
  const drained = marked && idle.drained
  recording = false
  const seconds = (end.at - begin.at) / 1000
  const open = fleet.filter((c) => !c.closed && c.markAt[0] > 0 && c.markAt[1] > 0)
  const meanMark = (index) => open.reduce((a, c) => a + c.markAt[index], 0) / open.length
  // Messages between the two marks: written after mark 0 (at begin) and before mark 1.
  const between = sentBetween.reduce((a, v) => a + v, 0) - begin.sent
  const processedSeconds = open.length > 0 ? (meanMark(1) - meanMark(0)) / 1000 : Number.NaN
  const cpu = end.cpu
  return {
    seconds,
    offeredPerSec: ratePerSec,
    sentPerSec: (end.sent - begin.sent) / seconds,
    // A broker that catches up on a backlog answers mark 1 sooner after mark 0 than the window:
    // it kept up, so what it processed is what was sent.
    processedPerSec: drained ? between / Math.max(processedSeconds, seconds) : null,
    ackedPerSec: qos === 1 ? (end.acked - begin.acked) / seconds : null,
    p50Us: latency.quantile(0.5),
    p99Us: latency.quantile(0.99),
    p999Us: latency.quantile(0.999),
    latencySamples: latency.total,
    generatorCpuPct: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    drained,
    drainMs: markMs,
    writeEveryMs: group,
    closed: closedCount(),
  }
}

function sum(key) {
  let total = 0
  for (const conn of fleet) total += conn[key]
  return total
}

async function closeFleetCommand() {
  for (const conn of fleet) conn.close()
  fleet = []
  await sleep(200)
  return {}
}

/**
 * Open-loop connects at `ratePerSec`, cycling through `devices`: TCP connect, CONNECT, CONNACK,
 * then a reset (no TIME_WAIT left behind, so thousands per second do not run out of ports).
 * Latency is from the TCP connect call to the CONNACK.
 */
async function churnCommand({ host, port, devices, ratePerSec, warmupMs, windowMs, drainMs }) {
  const pool = devices.map((d) => new Device(d))
  const hist = new Histogram()
  let next = 0
  let started = 0
  let pending = 0
  let acked = 0
  let refused = 0
  let failed = 0
  let windowStart = Number.POSITIVE_INFINITY
  let windowEnd = Number.POSITIVE_INFINITY
  let ackedInWindow = 0
  const startOne = () => {
    const device = pool[next++ % pool.length]
    pending++
    started++
    let settled = false
    const conn = new Connection(
      device,
      { host, port },
      (code) => {
        if (settled) return
        settled = true
        pending--
        const at = conn.connackAt
        if (code !== 0) refused++
        else {
          acked++
          if (at >= windowStart && at < windowEnd) ackedInWindow++
          if (conn.startedAt >= windowStart && conn.startedAt < windowEnd)
            hist.record((at - conn.startedAt) * 1000)
        }
        conn.reset()
      },
      () => {
        if (settled) return
        settled = true
        pending--
        failed++
      },
    )
  }
  const t0 = nowMs()
  const pump = () => {
    const due = Math.floor(((nowMs() - t0) * ratePerSec) / 1000)
    while (started < due) startOne()
  }
  const timer = setInterval(pump, 1)
  await sleep(warmupMs)
  pump()
  windowStart = nowMs()
  const begin = { started, cpu: process.cpuUsage() }
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  pump()
  windowEnd = nowMs()
  const end = { started, cpu: process.cpuUsage(begin.cpu) }
  process.send({ type: 'window-end' })
  clearInterval(timer)
  const drainStart = nowMs()
  while (pending > 0 && nowMs() - drainStart < drainMs) await sleep(2)
  const seconds = (windowEnd - windowStart) / 1000
  return {
    seconds,
    offeredPerSec: ratePerSec,
    startedPerSec: (end.started - begin.started) / seconds,
    startedInWindow: end.started - begin.started,
    ackedInWindow,
    connectsPerSec: ackedInWindow / seconds,
    p50Us: hist.quantile(0.5),
    p99Us: hist.quantile(0.99),
    generatorCpuPct: ((end.cpu.user + end.cpu.system) / 1e6 / seconds) * 100,
    drained: pending === 0,
    drainMs: Math.round(nowMs() - drainStart),
    pending,
    refused,
    failed,
    acked,
  }
}

serveCommands(
  {
    fleet: fleetCommand,
    burst: burstCommand,
    publish: publishCommand,
    'close-fleet': closeFleetCommand,
    churn: churnCommand,
  },
  () => {
    for (const conn of fleet) conn.reset()
  },
)
process.send({ type: 'started' })
