import { setTimeout as sleep } from 'node:timers/promises'
import { MqttSession, openBrowsers, openDevices } from '../../lib/fleet-clients.mjs'
import { PUBLISH } from '../../lib/mqtt-frames.mjs'
import { serveCommands } from '../../lib/processes.mjs'
import { numberAfter } from '../../lib/pusher-subscribers.mjs'
import { latencyRecorder, nowUs, openStreamSource, pace } from '../../lib/stream.mjs'

/**
 * The slow-consumer generator, a child of the runner pinned to the generator core. It holds the
 * "others" (thin Pusher subscribers on the stream channel and/or raw MQTT sessions subscribed to
 * the stream topic), one more client of either kind that will stop reading (the stuck one), and
 * the stream source. `phase` runs the stream at a fixed rate (open loop); with `stall` the stuck
 * client's socket is paused for the whole window (it reads nothing: the kernel buffers fill, then
 * the server's), and resumed after it. Latency is by send time: the window's events that reach
 * the others after the window still count, and those that never do count as the time waited.
 */
const STAMP = Buffer.from('"t":')
const all = latencyRecorder()
const groups = { browsers: latencyRecorder(), devices: latencyRecorder() }
const stuckEvents = latencyRecorder()
let browsers = []
let devices = []
let stuck = null
let source = null

/** The others' worst latency per TIMELINE_MS of send time over a window, for the progress log. */
const TIMELINE_MS = 500
let timeline = null

function track(atUs, stampUs) {
  if (!timeline) return
  const slot = Math.floor((stampUs - timeline.fromUs) / (TIMELINE_MS * 1000))
  if (slot >= 0 && slot < timeline.worst.length) {
    timeline.worst[slot] = Math.max(timeline.worst[slot], atUs - stampUs)
  }
}

const onBrowserEvent = (atUs, stampUs) => {
  track(atUs, stampUs)
  all.onEvent(atUs, stampUs)
  groups.browsers.onEvent(atUs, stampUs)
}
const onDeviceEvent = (atUs, stampUs) => {
  track(atUs, stampUs)
  all.onEvent(atUs, stampUs)
  groups.devices.onEvent(atUs, stampUs)
}

/** `onEvent(nowUs, stamp)` for each QoS 0 PUBLISH an MQTT session receives. */
const publishReader = (onEvent) => {
  let readAtUs = 0
  let scheduled = false
  return (type, buf, start, end) => {
    if (type !== PUBLISH) return
    // One clock read per chunk, as the Pusher subscribers do.
    if (!scheduled) {
      readAtUs = nowUs()
      scheduled = true
      queueMicrotask(() => {
        scheduled = false
      })
    }
    const payloadAt = start + 2 + buf.readUInt16BE(start)
    onEvent(readAtUs, numberAfter(buf, STAMP, payloadAt, end))
  }
}

async function subscribeAll(sessions, filter) {
  for (const session of sessions) {
    const code = await session.subscribe(filter, 0)
    if (code !== 0) throw new Error(`SUBACK ${code} for ${session.clientId} on ${filter}`)
  }
}

async function setup({ ws, channel, mqtt, filter, trigger, others, stuck: kind, payloadBytes }) {
  const start = performance.now()
  if (others.browsers > 0) {
    browsers = (
      await openBrowsers(ws, others.browsers, { channelOf: () => channel, onEvent: onBrowserEvent })
    ).subscribers
  }
  if (others.devices.length > 0) {
    devices = (await openDevices(mqtt, others.devices, { onPacket: publishReader(onDeviceEvent) }))
      .sessions
    await subscribeAll(devices, filter)
  }
  if (kind === 'browser') {
    const [subscriber] = (
      await openBrowsers(ws, 1, { channelOf: () => channel, onEvent: stuckEvents.onEvent })
    ).subscribers
    stuck = {
      socket: subscriber.socket,
      closed: () => subscriber.closed,
      closeCode: watchCloseFrame(subscriber.socket),
    }
  } else {
    const session = new MqttSession(mqtt, others.stuckDevice, {
      onPacket: publishReader(stuckEvents.onEvent),
    })
    await session.connack
    await subscribeAll([session], filter)
    stuck = { socket: session.socket, closed: () => session.closed, closeCode: () => null }
  }
  source = await openStreamSource({ ...trigger, payloadBytes })
  return {
    browsers: browsers.length,
    devices: devices.length,
    stuck: kind,
    setupMs: Math.round(performance.now() - start),
  }
}

/**
 * The close code of a WebSocket close frame that ends what `socket` has read so far, or null.
 * Server frames are unmasked; a close frame is the last one a server sends, and its first byte
 * (0x88) cannot occur in the JSON text of the frames before it.
 */
function watchCloseFrame(socket) {
  let tail = Buffer.alloc(0)
  socket.on('data', (chunk) => {
    tail = Buffer.concat([tail, chunk]).subarray(-128)
  })
  return () => {
    for (let i = 0; i + 4 <= tail.length; i++) {
      if (tail[i] !== 0x88 || tail[i + 1] !== tail.length - i - 2) continue
      const code = tail.readUInt16BE(i + 2)
      if (code >= 1000 && code < 5000) return code
    }
    return null
  }
}

const othersCount = () => browsers.length + devices.length
const closedOthers = () =>
  browsers.filter((s) => s.closed).length + devices.filter((s) => s.closed).length

/** Waits until every other client has every event sent so far (or `maxMs`). */
async function untilDelivered(maxMs) {
  const start = performance.now()
  const due = () => source.sent * (othersCount() - closedOthers())
  while (all.total < due() && performance.now() - start < maxMs) await sleep(2)
  return all.total >= due()
}

async function phase({ deliveriesPerSec, warmupMs, windowMs, drainMs, stall = false }) {
  await untilDelivered(drainMs)
  const n = othersCount()
  // The stuck client is offered every event too: n + 1 deliveries per event.
  const pacer = pace(source, deliveriesPerSec / (n + 1))
  await sleep(warmupMs)
  if (stall) stuck.socket.pause()
  const begin = { at: performance.now(), sent: pacer.sent, cpu: process.cpuUsage() }
  const recorders = [all, groups.browsers, groups.devices, stuckEvents]
  for (const recorder of recorders) recorder.open()
  timeline = { fromUs: nowUs(), worst: new Array(Math.ceil(windowMs / TIMELINE_MS)).fill(0) }
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  for (const recorder of recorders) recorder.close()
  const end = { at: performance.now(), sent: pacer.sent, cpu: process.cpuUsage(begin.cpu) }
  process.send({ type: 'window-end' })
  pacer.stop()
  const drained = await untilDelivered(drainMs)
  const seconds = (end.at - begin.at) / 1000
  const sentEvents = end.sent - begin.sent
  const others = all.result(sentEvents * n)
  const perGroup = {
    browsers: groups.browsers.result(sentEvents * browsers.length),
    devices: groups.devices.result(sentEvents * devices.length),
  }
  const stuckWindow = stuckEvents.result(0)
  const worstMs = timeline.worst.map((us) => Math.round(us / 1000))
  timeline = null
  if (stall) {
    // Let it read what the server still holds for it: the rest of the stream, or a close.
    stuck.socket.resume()
    const resumedAt = performance.now()
    let read = -1
    while (!stuck.closed() && performance.now() - resumedAt < 2000) {
      if (stuck.socket.bytesRead === read) break
      read = stuck.socket.bytesRead
      await sleep(100)
    }
  }
  return {
    seconds,
    windowStartEpochMs: performance.timeOrigin + begin.at,
    offeredPerSec: deliveriesPerSec,
    sentEventsPerSec: sentEvents / seconds,
    deliveredPerSec: (others.received + stuckWindow.received) / seconds,
    othersDeliveredShare: sentEvents > 0 ? others.received / (sentEvents * n) : null,
    p50Us: others.p50Us,
    p99Us: others.p99Us,
    p999Us: others.p999Us,
    p99BrowsersUs: perGroup.browsers.p99Us,
    p99DevicesUs: perGroup.devices.p99Us,
    stuckReceivedInWindow: stuckWindow.received,
    worstMsPerSlot: worstMs,
    slotMs: TIMELINE_MS,
    stuckClosed: stuck.closed(),
    stuckCloseCode: stuck.closeCode(),
    closedOthers: closedOthers(),
    drained,
    generatorCpuPct: ((end.cpu.user + end.cpu.system) / 1e6 / seconds) * 100,
  }
}

serveCommands({ setup, phase }, () => {
  source?.close()
  for (const subscriber of browsers) subscriber.close()
  for (const session of devices) session.reset()
  stuck?.socket.destroy()
})
process.send({ type: 'started' })
