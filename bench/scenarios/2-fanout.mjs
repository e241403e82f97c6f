import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fanoutVerdict } from '../fanout/step-verdict.mjs'
import { windowedCommand } from '../lib/cpu.mjs'
import { spawnPinned } from '../lib/processes.mjs'
import { measureAtServerCpu, warmUpServer } from '../lib/steps.mjs'
import { ratioTarget } from '../lib/suite-report.mjs'

/**
 * Scenario 2, channel fan-out: one device topic to one channel with N subscribed browsers
 * (N = 100, 1,000, 5,000; the quick profile 1,000 only). Each event reaches every socket as the
 * same 98-byte text frame `{"event":"tick","channel":"private-device-bench-dev","data":"{\"t\":…}"}`.
 * Servers (bench/fanout):
 * - gateway: the compiled gateway, one provisioned device publishing QoS 0 PUBLISH frames to
 *   `devices/bench-dev/events/tick`;
 * - bare-ws: a `ws` server that serialises the frame once per event and loops `ws.send`;
 * - raw-writer: a `net` server doing the WebSocket handshake itself and writing one pre-built frame
 *   buffer per event (per trigger read) to every socket, the Node upper bound
 *   (bench/scenarios/fanout/raw-writer-server.mjs).
 * The baselines take the event as a line on a trigger port. Generator: bench/fanout/generator.mjs
 * (N raw TCP sockets, TCP_NODELAY, one shared read buffer, a µs stamp read from each frame).
 * A message is one delivery: one frame received by one socket.
 */
const SERVERS = ['gateway', 'bare-ws', 'raw-writer']
const SCRIPTS = {
  gateway: new URL('../fanout/gateway-server.mjs', import.meta.url),
  'bare-ws': new URL('../fanout/bare-ws-server.mjs', import.meta.url),
  'raw-writer': new URL('./fanout/raw-writer-server.mjs', import.meta.url),
}
/** Calibration rate in deliveries/s: a fifth to a third of the gateway's capacity here. */
const GUESS = 30_000
/** At least this many events in a window, so that one event more or less moves little. */
const MIN_WINDOW_EVENTS = { quick: 20, full: 100 }

/**
 * One fan-out measurement: starts `server` and the generator with `n` subscribed sockets, runs
 * the step at the fixed server CPU, stops both. `payloadBytes` pads the event's data (scenario 7).
 * Resolves to the Measurement's figures.
 */
export async function measureFanout({ server, profile, log, n, payloadBytes, key }) {
  const { warmupMs, windowMs, calibrationWarmupMs, calibrationMs, serverWarmupMs } = profile.step
  const dir = mkdtempSync(join(profile.workDir, `fanout-${server}-`))
  const target = spawnPinned(SCRIPTS[server], profile.cores.server, {
    args: server === 'gateway' ? [join(dir, 'store.db'), profile.gateway.entry] : [],
    nodeArgs: profile.nodeArgs(server, key),
  })
  const generator = spawnPinned(
    new URL('../fanout/generator.mjs', import.meta.url),
    profile.cores.generator,
  )
  try {
    const ready = await target.next('ready')
    await generator.next('started')
    const { connectMs } = await generator.request({
      cmd: 'connect',
      n,
      ws: ready.ws,
      trigger: { ...ready.trigger, payloadBytes },
    })
    log(`  ${n} sockets subscribed in ${connectMs} ms`)
    const minEvents = MIN_WINDOW_EVENTS[profile.full ? 'full' : 'quick']
    const runStep = async (deliveriesPerSec, { calibration = false, warmUp = false }) => {
      const eventsPerSec = deliveriesPerSec / n
      const baseWindow = warmUp ? serverWarmupMs : calibration ? calibrationMs : windowMs
      const r = await windowedCommand(
        generator,
        {
          cmd: 'step',
          eventsPerSec,
          warmupMs: warmUp ? 0 : calibration ? calibrationWarmupMs : warmupMs,
          windowMs: Math.max(baseWindow, (minEvents / eventsPerSec) * 1000),
          drainMs: 2000,
        },
        { pids: [target.pid] },
      )
      const { kept, pass } = fanoutVerdict(r, { eventsPerSec, n })
      if (!r.drained && r.closedSockets === 0) {
        await generator.request({ cmd: 'drain', maxMs: 30_000 })
      }
      return {
        ...r,
        offeredPerSec: deliveriesPerSec,
        deliveredPerSec: r.deliveriesPerSec,
        pass,
        abort: r.closedSockets > 0,
        why: [
          kept ? '' : 'generator behind schedule',
          r.drained ? '' : 'not drained',
          r.closedSockets ? `${r.closedSockets} sockets closed (${r.closeCodes.join(', ')})` : '',
        ]
          .filter(Boolean)
          .join(', '),
      }
    }
    await warmUpServer([() => runStep(GUESS, { warmUp: true })], { log, unit: 'deliveries' })
    const { figures, fixed } = await measureAtServerCpu(runStep, {
      key,
      guess: GUESS,
      profile,
      log,
      unit: 'deliveries',
    })
    return {
      ...figures,
      subscribers: n,
      eventsPerSec: Math.round((fixed.step.sentEventsPerSec ?? 0) * 10) / 10,
    }
  } finally {
    await generator.stop()
    await target.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export default {
  id: 'fanout',
  number: 2,
  title: 'Channel fan-out: one device topic to one channel with N browsers',
  servers: () => SERVERS,
  variants: (profile) =>
    (profile.full ? [100, 1000, 5000] : [1000]).map((n) => ({ name: `n${n}`, params: { n } })),
  notes: (profile) =>
    profile.full
      ? ['N = 100, 1,000 and 5,000 subscribed sockets; 3 s windows (at least 100 events)']
      : [
          'N = 1,000 only and 0.6 s windows (quick profile); --full adds N = 100 and 5,000',
          'a message is one delivery (one frame to one socket)',
        ],
  figures: [{ key: 'eventsPerSec', label: 'events/s', digits: 1 }],
  targets: [
    ratioTarget({
      description: 'gateway CPU-µs per delivery ≤ 1.0× bare ws',
      gateway: 'gateway',
      baseline: 'bare-ws',
      max: 1.0,
    }),
  ],

  async measure({ server, variant, profile, log }) {
    const { n } = variant.params
    const figures = await measureFanout({
      server,
      profile,
      log,
      n,
      key: `fanout/${server}/${variant.name}`,
    })
    return [figures]
  },
}
