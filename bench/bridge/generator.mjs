import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { pooled } from '../lib/fleet-clients.mjs'
import { Histogram } from '../lib/histogram.mjs'
import {
  CONNACK,
  connectFrame,
  DISCONNECT,
  jsonPayload,
  PacketReader,
  PUBLISH,
  publishFrame,
  SUBACK,
  subscribeFrame,
} from '../lib/mqtt-frames.mjs'
import { serveCommands } from '../lib/processes.mjs'
import { numberAfter, openSubscribers } from '../lib/pusher-subscribers.mjs'

/**
 * The bridge load generator, a child of run.mjs (and of the suite's device-to-browser scenarios)
 * pinned to its own core. It holds D device sessions (raw TCP, pre-encoded QoS 0 PUBLISH frames)
 * and the receivers: `perChannel` thin Pusher subscribers per device channel (gateway) or one raw
 * MQTT subscriber on a wildcard filter (bare aedes). With a `trigger` port instead of a broker
 * (the bare `ws` server of bench/fanout), each device's messages are lines
 * `private-device-{id}\treading\t{payload}` on one TCP connection. Every payload carries the send
 * time in µs and a sequence number, both fixed-width and patched in place, so nothing is
 * serialised per message.
 * Commands: `setup`, `burst` (a capacity estimate), `step` (one open-loop rate), `drain`.
 */
const PAYLOAD_BYTES = 100
const STAMP_DIGITS = 16
const SEQ_DIGITS = 10
/** Sequence numbers start here: ten digits without a leading zero, so the payload stays JSON. */
const SEQ_START = 1_000_000_000
/** Handshakes (device CONNECTs, browser subscribes) in flight at most during setup. */
const SETUP_CONCURRENCY = 100
/** A JSON reading of `bytes` bytes with the stamp and sequence number first. */
const payloadOf = (bytes) =>
  jsonPayload(
    bytes,
    `{"t":${'1'.repeat(STAMP_DIGITS)},"seq":${SEQ_START},"celsius":21.5,"humidity":40.2,"pad":"`,
  )
let PAYLOAD = payloadOf(PAYLOAD_BYTES)
const STAMP_IN_PAYLOAD = PAYLOAD.indexOf('"t":') + 4
const SEQ_IN_PAYLOAD = PAYLOAD.indexOf('"seq":') + 6
const RAW_MARKERS = { t: Buffer.from('"t":'), seq: Buffer.from('"seq":') }
const ORIGIN_US = performance.timeOrigin * 1000

const nowMs = () => performance.now()
const nowUs = () => ORIGIN_US + performance.now() * 1000

let devices = []
let receivers = []
let nextSeq = SEQ_START
/** Receivers of each message: subscribers per device channel (1 for the MQTT receiver). */
let perMessage = 1

/**
 * What a batch (a burst or a step) has sent and received. `seen[seq - base]` counts the
 * receipts of each sequence number; a message is received once all `perMessage` receivers have
 * it. The window's messages are the sequence numbers [windowFirst, windowEnd).
 */
const batch = {
  base: SEQ_START,
  seen: new Uint8Array(0),
  received: 0,
  duplicates: 0,
  stale: 0,
  windowFirst: Number.POSITIVE_INFINITY,
  windowEnd: Number.POSITIVE_INFINITY,
  receivedOfWindow: 0,
  /** Receipts (of this batch's messages) while the window is open: the delivered rate. */
  inWindow: false,
  receiptsInWindow: 0,
  /** Receipts of the window's messages (each message `perMessage` times when all arrive). */
  deliveriesOfWindow: 0,
}
const latency = new Histogram()

/** A receipt: the receive time and the payload's send stamp (µs) and sequence number. */
function onMessage(atUs, stampUs, seq) {
  const k = seq - batch.base
  if (k < 0 || k >= batch.seen.length) {
    batch.stale++
    return
  }
  if (batch.seen[k] === perMessage) {
    batch.duplicates++
    return
  }
  const complete = ++batch.seen[k] === perMessage
  if (complete) batch.received++
  if (batch.inWindow) batch.receiptsInWindow++
  if (seq >= batch.windowFirst && seq < batch.windowEnd) {
    if (complete) batch.receivedOfWindow++
    batch.deliveriesOfWindow++
    latency.record(atUs - stampUs)
  }
}

function startBatch(capacity) {
  batch.base = nextSeq
  batch.seen = new Uint8Array(capacity)
  batch.received = 0
  batch.duplicates = 0
  batch.stale = 0
  batch.windowFirst = Number.POSITIVE_INFINITY
  batch.windowEnd = Number.POSITIVE_INFINITY
  batch.receivedOfWindow = 0
  batch.inWindow = false
  batch.receiptsInWindow = 0
  batch.deliveriesOfWindow = 0
  latency.reset()
}

/** Writes `value` as exactly `width` decimal digits at buf[offset]. */
function writeDigits(buf, offset, value, width) {
  let v = value
  for (let i = offset + width - 1; i >= offset; i--) {
    const digit = v % 10
    buf[i] = 48 + digit
    v = (v - digit) / 10
  }
}

/** An MQTT session over raw TCP: CONNECT, then `onPacket(type, buf, start, end)`. */
class MqttSession {
  closed = false
  /** Receive time of the chunk being read (µs), taken once per chunk by whoever needs it. */
  readAtUs = 0

  constructor({ host, port }, credentials, onPacket) {
    this.socket = net.connect({ host, port, noDelay: true })
    this.connack = new Promise((resolve, reject) => {
      this.reader = new PacketReader((type, buf, start, end) => {
        if (type === CONNACK) {
          if (buf[start + 1] === 0) resolve()
          else reject(new Error(`CONNACK ${buf[start + 1]} for ${credentials.clientId}`))
        } else onPacket(type, buf, start, end)
      })
      this.socket.once('close', () =>
        reject(new Error(`${credentials.clientId}: closed before CONNACK`)),
      )
    })
    this.socket.on('connect', () => this.socket.write(connectFrame(credentials)))
    this.socket.on('data', (chunk) => {
      this.readAtUs = 0
      this.reader.feed(chunk)
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
    })
  }

  close() {
    this.socket.end(DISCONNECT)
  }
}

/**
 * A device publishing QoS 0 frames to its own topic; each frame gets a stamp and a seq. With a
 * `trigger` (a connected line socket shared by every device) it writes lines instead.
 */
class Device {
  sent = 0

  constructor(target, { id, username, password }, trigger = null) {
    this.id = id
    let frame
    if (trigger) {
      this.session = null
      this.socket = trigger
      frame = Buffer.concat([
        Buffer.from(`private-device-${id}\treading\t`),
        PAYLOAD,
        Buffer.from('\n'),
      ])
      this.frame = frame
      const payloadAt = frame.length - 1 - PAYLOAD.length
      this.stampAt = payloadAt + STAMP_IN_PAYLOAD
      this.seqAt = payloadAt + SEQ_IN_PAYLOAD
      return
    }
    this.session = new MqttSession(target, { clientId: id, username, password }, () => {})
    this.socket = this.session.socket
    frame = publishFrame(`devices/${id}/events/reading`, PAYLOAD, 0).frame
    this.frame = frame
    const payloadAt = frame.length - PAYLOAD.length
    this.stampAt = payloadAt + STAMP_IN_PAYLOAD
    this.seqAt = payloadAt + SEQ_IN_PAYLOAD
  }

  get closed() {
    return this.session ? this.session.closed : this.socket.destroyed
  }

  /** Writes `count` messages in one write, all stamped now, with consecutive sequence numbers. */
  publish(count) {
    const frame = this.frame
    const size = frame.length
    writeDigits(frame, this.stampAt, Math.round(nowUs()), STAMP_DIGITS)
    const out = Buffer.allocUnsafe(size * count)
    for (let i = 0; i < count; i++) {
      const base = i * size
      frame.copy(out, base)
      writeDigits(out, base + this.seqAt, nextSeq++, SEQ_DIGITS)
    }
    this.sent += count
    this.socket.write(out)
  }
}

/** Bare aedes: one MQTT subscriber on `filter` that reads the stamp and seq of each PUBLISH. */
async function openMqttReceiver(target, filter) {
  let subscribed
  const suback = new Promise((resolve) => {
    subscribed = resolve
  })
  const session = new MqttSession(
    target,
    { clientId: 'bench-bridge-receiver' },
    (type, buf, s, e) => {
      if (type === PUBLISH) {
        const payloadAt = s + 2 + buf.readUInt16BE(s)
        // Like the Pusher subscribers: one clock read per chunk read from the socket.
        if (session.readAtUs === 0) session.readAtUs = nowUs()
        onMessage(
          session.readAtUs,
          numberAfter(buf, RAW_MARKERS.t, payloadAt, e),
          numberAfter(buf, RAW_MARKERS.seq, payloadAt, e),
        )
      } else if (type === SUBACK) {
        subscribed(buf[s + 2])
      }
    },
  )
  await session.connack
  session.socket.write(subscribeFrame(filter, 0, 1))
  const code = await suback
  if (code !== 0) throw new Error(`SUBACK ${code} for ${filter}`)
  return { closed: () => session.closed, close: () => session.close() }
}

/** Gateway: `perChannel` thin Pusher subscribers per device channel, signed with the app secret. */
async function openPusherReceivers(ws, ids, perChannel) {
  const opened = await pooled(ids.length, SETUP_CONCURRENCY, (i) =>
    openSubscribers({
      ...ws,
      channel: `private-device-${ids[i]}`,
      n: perChannel,
      fields: ['t', 'seq'],
      onEvent: onMessage,
    }),
  )
  return opened.flat().map((s) => ({ closed: () => s.closed, close: () => s.close() }))
}

/** The bare `ws` server's trigger port: one TCP connection carrying every device's lines. */
async function openTrigger({ host, port }) {
  const socket = net.connect({ host, port, noDelay: true })
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  return socket
}

/**
 * Connects the receivers (`perChannel` per device channel on `ws`, or one MQTT subscriber on
 * `filter`), then the devices (MQTT sessions on `mqtt`, or lines on the `trigger` port).
 * `payloadBytes` sizes every payload (100 by default).
 */
async function setup({
  mqtt,
  ws,
  trigger,
  devices: list,
  filter,
  perChannel = 1,
  payloadBytes = PAYLOAD_BYTES,
}) {
  const start = nowMs()
  PAYLOAD = payloadOf(payloadBytes)
  perMessage = ws ? perChannel : 1
  // Receivers first, so the first publish already has somewhere to go.
  receivers = ws
    ? await openPusherReceivers(
        ws,
        list.map((d) => d.id),
        perChannel,
      )
    : [await openMqttReceiver(mqtt, filter)]
  if (trigger) {
    const socket = await openTrigger(trigger)
    devices = list.map((d) => new Device(null, d, socket))
  } else {
    devices = await pooled(list.length, SETUP_CONCURRENCY, async (i) => {
      const device = new Device(mqtt, list[i])
      await device.session.connack
      return device
    })
  }
  return {
    devices: devices.length,
    receivers: receivers.length,
    setupMs: Math.round(nowMs() - start),
    payloadBytes: PAYLOAD.length,
  }
}

function closedCount() {
  return devices.filter((d) => d.closed).length + receivers.filter((r) => r.closed()).length
}

const sentOfBatch = () => nextSeq - batch.base

/** Waits until everything the batch sent has arrived (or `maxMs`, or a connection closed). */
async function untilReceived(maxMs) {
  const start = nowMs()
  while (batch.received < sentOfBatch() && closedCount() === 0 && nowMs() - start < maxMs)
    await sleep(1)
  return { drained: batch.received >= sentOfBatch(), drainMs: Math.round(nowMs() - start) }
}

/** Every device writes its share of `count` at once; the time until the last arrives. */
async function burst({ count, maxMs }) {
  const per = Math.max(1, Math.ceil(count / devices.length))
  startBatch(per * devices.length)
  const start = nowMs()
  for (const device of devices) device.publish(per)
  const { drained } = await untilReceived(maxMs)
  const seconds = (nowMs() - start) / 1000
  return {
    drained,
    msgsPerSec: batch.received / seconds,
    lost: sentOfBatch() - batch.received,
    closed: closedCount(),
  }
}

/**
 * Open loop at `ratePerSec` over the devices (each an equal share, due messages written every
 * millisecond, devices staggered): warm-up, then the measurement window, then the schedule stops
 * and up to `drainMs` is left for the window's messages to arrive. Messages of the window that
 * never arrive count in the latency histogram as the time waited for them after the window.
 */
async function step({ ratePerSec, warmupMs, windowMs, drainMs }) {
  await untilReceived(drainMs)
  const d = devices.length
  // Sized for the schedule plus a generous margin; a late tick sends no more than was due.
  startBatch(Math.ceil((ratePerSec * (warmupMs + windowMs + 3000)) / 1000) + d)
  for (const device of devices) device.sent = 0
  const perDevicePerMs = ratePerSec / d / 1000
  const t0 = nowMs()
  const pump = () => {
    const elapsed = nowMs() - t0
    for (let i = 0; i < d; i++) {
      const device = devices[i]
      if (device.closed) continue
      const due = Math.floor(elapsed * perDevicePerMs + i / d) - device.sent
      if (due > 0) device.publish(due)
    }
  }
  const timer = setInterval(pump, 1)
  await sleep(warmupMs)
  pump()
  batch.windowFirst = nextSeq
  batch.receiptsInWindow = 0
  batch.inWindow = true
  const begin = { at: nowMs(), cpu: process.cpuUsage() }
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  pump()
  batch.inWindow = false
  batch.windowEnd = nextSeq
  const end = { at: nowMs(), cpu: process.cpuUsage(begin.cpu) }
  clearInterval(timer)
  process.send({ type: 'window-end' })
  const { drained, drainMs: drainedMs } = await untilReceived(drainMs)
  const seconds = (end.at - begin.at) / 1000
  const sentInWindow = batch.windowEnd - batch.windowFirst
  // Deliveries of the window's messages that never arrived (perMessage per message).
  const missing = sentInWindow * perMessage - batch.deliveriesOfWindow
  const waitedUs = (nowMs() - end.at) * 1000
  for (let i = 0; i < missing; i++) latency.record(waitedUs)
  return {
    seconds,
    offeredPerSec: ratePerSec,
    sentPerSec: sentInWindow / seconds,
    deliveredPerSec: batch.receiptsInWindow / seconds,
    sentInWindow,
    receiptsInWindow: batch.receiptsInWindow,
    receivedOfWindow: batch.receivedOfWindow,
    deliveriesOfWindow: batch.deliveriesOfWindow,
    perMessage,
    p50Us: latency.quantile(0.5),
    p99Us: latency.quantile(0.99),
    p999Us: latency.quantile(0.999),
    generatorCpuPct: ((end.cpu.user + end.cpu.system) / 1e6 / seconds) * 100,
    drained,
    drainMs: drainedMs,
    lost: sentOfBatch() - batch.received,
    duplicates: batch.duplicates,
    stale: batch.stale,
    closed: closedCount(),
  }
}

/** Waits out what a failed step left in flight, so the next one starts clean. */
async function drain({ maxMs }) {
  return untilReceived(maxMs)
}

serveCommands({ setup, burst, step, drain }, async () => {
  for (const device of devices) device.session?.close()
  for (const receiver of receivers) receiver.close()
  await sleep(50)
})
process.send({ type: 'started' })
