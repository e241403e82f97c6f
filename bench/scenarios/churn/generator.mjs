import { setTimeout as sleep } from 'node:timers/promises'
import { MqttSession, openBrowsers, openDevices, quantiles } from '../../lib/fleet-clients.mjs'
import { Histogram } from '../../lib/histogram.mjs'
import { serveCommands } from '../../lib/processes.mjs'
import { openSubscribers } from '../../lib/pusher-subscribers.mjs'
import { latencyRecorder, openStreamSource, pace } from '../../lib/stream.mjs'

/**
 * The churn generator, a child of the runner pinned to the generator core.
 * - `setup`: R thin Pusher receivers on the stream channel and the stream source (a device
 *   session for the gateway, the trigger port for the bare server).
 * - `phase`: the stream at a fixed rate (open loop), with or without churn: browsers joining the
 *   same channel at `joinsPerSec` (open loop: connect, upgrade, subscribe), each leaving (socket
 *   closed) `holdMs` after it joined. Reports the receivers' latency and deliveries in the window,
 *   and the joins completed in it.
 * - `fleet` / `storm`: D device sessions held, then every one reset at once and reconnected at
 *   once: the time until the last CONNACK and each CONNACK's latency.
 */
const receivers = latencyRecorder()
let subscribers = []
let source = null
let ws = null
let channel = null

async function setup({ ws: wsTarget, channel: name, trigger, receivers: count, payloadBytes }) {
  ws = wsTarget
  channel = name
  const opened = await openBrowsers(ws, count, {
    channelOf: () => channel,
    onEvent: receivers.onEvent,
  })
  subscribers = opened.subscribers
  source = await openStreamSource({ ...trigger, payloadBytes })
  return { receivers: subscribers.length, setupMs: Math.round(opened.ms) }
}

const closedReceivers = () => subscribers.filter((s) => s.closed).length

/** Browsers joining at `joinsPerSec` and each leaving `holdMs` after it joined. */
function churn({ joinsPerSec, holdMs }) {
  const joinLatency = new Histogram()
  const live = new Set()
  let started = 0
  let joined = 0
  let failed = 0
  let recording = false
  let joinsInWindow = 0
  let eventsToChurners = 0
  let stopped = false
  const onEvent = () => {
    if (recording) eventsToChurners++
  }
  const joinOne = () => {
    started++
    const at = performance.now()
    openSubscribers({ ...ws, channel, n: 1, field: 't', onEvent }).then(
      ([subscriber]) => {
        joined++
        if (recording) {
          joinsInWindow++
          joinLatency.record((performance.now() - at) * 1000)
        }
        if (stopped) return subscriber.close()
        live.add(subscriber)
        setTimeout(() => {
          live.delete(subscriber)
          subscriber.close()
        }, holdMs)
      },
      () => failed++,
    )
  }
  const t0 = performance.now()
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * joinsPerSec) / 1000)
    while (started < due) joinOne()
  }, 1)
  return {
    startWindow() {
      recording = true
    },
    endWindow() {
      recording = false
      return { joinsInWindow, eventsToChurners, failed, ...prefixed('join', joinLatency) }
    },
    stop() {
      stopped = true
      clearInterval(timer)
      for (const subscriber of live) subscriber.close()
      live.clear()
      return { started, joined, failed }
    },
  }
}

const prefixed = (prefix, hist) => {
  const q = quantiles(hist)
  return { [`${prefix}P50Us`]: q.p50Us, [`${prefix}P99Us`]: q.p99Us }
}

/** Waits until every receiver has every event sent so far (or `maxMs`). */
async function untilDelivered(maxMs) {
  const start = performance.now()
  const due = () => source.sent * (subscribers.length - closedReceivers())
  while (receivers.total < due() && performance.now() - start < maxMs) await sleep(2)
  return receivers.total >= due()
}

async function phase({ deliveriesPerSec, warmupMs, windowMs, drainMs, churn: churnOptions }) {
  await untilDelivered(drainMs)
  const n = subscribers.length
  const eventsPerSec = deliveriesPerSec / n
  const churner = churnOptions ? churn(churnOptions) : null
  const pacer = pace(source, eventsPerSec)
  await sleep(churnOptions ? Math.max(warmupMs, churnOptions.holdMs) : warmupMs)
  const begin = { at: performance.now(), sent: pacer.sent, cpu: process.cpuUsage() }
  receivers.open()
  churner?.startWindow()
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  receivers.close()
  const joins = churner?.endWindow() ?? null
  const end = { at: performance.now(), sent: pacer.sent, cpu: process.cpuUsage(begin.cpu) }
  process.send({ type: 'window-end' })
  pacer.stop()
  const churnTotals = churner?.stop() ?? null
  const drained = await untilDelivered(drainMs)
  const seconds = (end.at - begin.at) / 1000
  const sentEvents = end.sent - begin.sent
  const window = receivers.result(sentEvents * n)
  return {
    seconds,
    offeredPerSec: deliveriesPerSec,
    sentEventsPerSec: sentEvents / seconds,
    // The window's events (by send time) delivered by the end of the drain.
    deliveredPerSec: window.received / seconds,
    deliveredShare: sentEvents > 0 ? window.received / (sentEvents * n) : null,
    p50Us: window.p50Us,
    p99Us: window.p99Us,
    p999Us: window.p999Us,
    generatorCpuPct: ((end.cpu.user + end.cpu.system) / 1e6 / seconds) * 100,
    drained,
    closedReceivers: closedReceivers(),
    ...(joins && {
      joinsPerSec: joins.joinsInWindow / seconds,
      joinP50Us: joins.joinP50Us,
      joinP99Us: joins.joinP99Us,
      joinFailures: churnTotals.failed,
      churnerDeliveriesPerSec: joins.eventsToChurners / seconds,
    }),
  }
}

let fleet = []

async function fleetCommand({ target, credentials, concurrency }) {
  const opened = await openDevices(target, credentials, { concurrency })
  fleet = opened.sessions
  return { devices: fleet.length, ms: Math.round(opened.ms) }
}

/**
 * Every held session is reset (the network of the whole fleet dropped) and all reconnect at once.
 * A connection closed before its CONNACK is retried after `retryMs` (a device would back off).
 */
async function storm({ target, credentials, retryMs = 100, maxMs = 30_000 }) {
  const hist = new Histogram()
  let retries = 0
  let failed = 0
  const cpu = process.cpuUsage()
  process.send({ type: 'window-start' })
  const t0 = performance.now()
  for (const session of fleet) session.reset()
  const connectOne = async (c) => {
    const deadline = t0 + maxMs
    for (;;) {
      const at = performance.now()
      const session = new MqttSession(target, c)
      try {
        await session.connack
        hist.record((performance.now() - at) * 1000)
        return session
      } catch {
        session.reset()
        if (performance.now() > deadline) {
          failed++
          return null
        }
        retries++
        await sleep(retryMs)
      }
    }
  }
  const sessions = await Promise.all(credentials.map(connectOne))
  const ms = performance.now() - t0
  process.send({ type: 'window-end' })
  const used = process.cpuUsage(cpu)
  fleet = sessions.filter(Boolean)
  return {
    devices: credentials.length,
    reconnected: fleet.length,
    ms,
    retries,
    failed,
    generatorCpuPct: ((used.user + used.system) / 1e6 / (ms / 1000)) * 100,
    ...quantiles(hist),
  }
}

serveCommands({ setup, phase, fleet: fleetCommand, storm }, () => {
  source?.close()
  for (const subscriber of subscribers) subscriber.close()
  for (const session of fleet) session.reset()
})
process.send({ type: 'started' })
