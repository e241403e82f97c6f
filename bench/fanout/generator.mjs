import { setTimeout as sleep } from 'node:timers/promises'
import { Histogram } from '../lib/histogram.mjs'
import { openPusherSockets } from './pusher-sockets.mjs'
import { openTrigger } from './trigger.mjs'

/**
 * The load generator, a child of run.mjs pinned to its own core. It holds the N subscribed
 * sockets and the trigger, and runs what the driver asks over IPC: `connect`, `burst` (a capacity
 * estimate), `step` (one open-loop rate: warm-up, measurement window, drain) and `exit`.
 */
const latency = new Histogram()
let recording = false
let received = 0
let expected = 0
let n = 0
let sockets = []
let trigger

const sink = {
  delivered(nowUs, stampUs) {
    received++
    if (recording) latency.record(nowUs - stampUs)
  },
}

function send(events) {
  expected += events * n
  trigger.send(events)
}

async function untilDrained(maxMs) {
  const start = performance.now()
  while (received < expected && performance.now() - start < maxMs) await sleep(2)
  return { drained: received >= expected, ms: performance.now() - start }
}

async function connect(options) {
  n = options.n
  const start = performance.now()
  sockets = await openPusherSockets({ ...options.ws, n, sink })
  trigger = await openTrigger(options.trigger)
  return { connectMs: Math.round(performance.now() - start) }
}

/** Sends `events` back to back and times their delivery: an upper estimate of capacity. */
async function burst({ events, maxMs }) {
  const start = performance.now()
  send(events)
  const { drained } = await untilDrained(maxMs)
  const seconds = (performance.now() - start) / 1000
  return { drained, deliveriesPerSec: Math.round((events * n) / seconds), ms: seconds * 1000 }
}

/** Open loop at `eventsPerSec`: the schedule never waits for deliveries. */
async function step({ eventsPerSec, warmupMs, windowMs, drainMs }) {
  const t0 = performance.now()
  let sent = 0
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * eventsPerSec) / 1000)
    if (due > sent) {
      send(due - sent)
      sent = due
    }
  }, 1)
  await sleep(warmupMs)
  latency.reset()
  recording = true
  const begin = { at: performance.now(), sent, received, cpu: process.cpuUsage() }
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  const end = { at: performance.now(), sent, received, cpu: process.cpuUsage(begin.cpu) }
  process.send({ type: 'window-end' })
  recording = false
  clearInterval(timer)
  const { drained, ms: drainedMs } = await untilDrained(drainMs)
  const seconds = (end.at - begin.at) / 1000
  const windowEvents = end.sent - begin.sent
  return {
    seconds,
    sentEventsPerSec: windowEvents / seconds,
    offered: windowEvents * n,
    delivered: end.received - begin.received,
    deliveriesPerSec: (end.received - begin.received) / seconds,
    p50Us: latency.quantile(0.5),
    p99Us: latency.quantile(0.99),
    p999Us: latency.quantile(0.999),
    generatorCpuPct: ((end.cpu.user + end.cpu.system) / 1e6 / seconds) * 100,
    generatorSysPct: (end.cpu.system / 1e6 / seconds) * 100,
    drained,
    drainMs: Math.round(drainedMs),
    ...closedSockets(),
  }
}

/** Waits out a backlog left by a failed step, so the next step starts clean. */
async function drain({ maxMs }) {
  return untilDrained(maxMs)
}

function closedSockets() {
  const closed = sockets.filter((s) => s.closed)
  return { closedSockets: closed.length, closeCodes: [...new Set(closed.map((s) => s.closeCode))] }
}

const commands = { connect, burst, step, drain }

process.on('message', (message) => {
  if (message.cmd === 'exit') {
    trigger?.close()
    for (const socket of sockets) socket.close()
    process.exit(0)
  }
  const command = commands[message.cmd]
  command(message).then(
    (result) => process.send({ type: message.cmd, ...result }),
    (error) => process.send({ type: 'error', message: error.stack ?? String(error) }),
  )
})
process.send({ type: 'started' })
