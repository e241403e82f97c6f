import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpuWindow, waitForQuiet, windowedCommand } from '../lib/cpu.mjs'
import { driverOptions } from '../lib/driver-options.mjs'
import { snapshotGateway } from '../lib/gateway-snapshot.mjs'
import { pinnedMosquitto, systemMosquitto } from '../lib/mosquitto.mjs'
import { pinSelf, spawnPinned } from '../lib/processes.mjs'
import { fmt, log, machineLine } from '../lib/report.mjs'
import { searchRate } from '../lib/steps.mjs'
import { provisionStore } from './provision.mjs'
import { publishVerdict } from './publish-verdict.mjs'
import { summaryTables } from './summary.mjs'

/**
 * MQTT device benchmark: (a) connects per second, each authenticated, and (b) device publish
 * throughput at QoS 0 and 1, Fleetcast gateway (authentication and ACL hooks on) against bare
 * aedes (no hooks) and Mosquitto. Servers on core 0, the generator and this driver on core 1.
 * One JSON line per measurement on stdout, progress on stderr, markdown tables at the end.
 */
const USAGE = `usage: node bench/mqtt/run.mjs [--full] [--n 200] [--runs 3]
  [--servers gateway,aedes,mosquitto] [--qos 0,1] [--parts connect,publish]
  [--window-ms 500] [--warmup-ms 200] [--connect-window-ms 750] [--cpu-prof DIR]
  --full       N = 1000 devices, 3 s publish and 4 s connect windows, finer rate steps, failed
               steps confirmed, and mosquitto-pinned too (default: N = 200, 0.5 s and 0.75 s
               windows, a coarse search)
  servers      gateway, aedes (bare, no hooks), mosquitto (the daemon on 127.0.0.1:1883, not
               pinned), mosquitto-pinned (a private mosquitto pinned to the server core)
  --cpu-prof   profile the gateway (one run) with node --cpu-prof into DIR`

const { opts, full, runs, windowMs, warmupMs, cpuProf, serverNodeArgs } = driverOptions(USAGE, {
  options: {
    n: { type: 'string' },
    qos: { type: 'string', default: '0,1' },
    parts: { type: 'string', default: 'connect,publish' },
    'connect-window-ms': { type: 'string' },
  },
  windows: { quick: [500, 200], full: [3000, 1000] },
})
const n = Number(opts.n ?? (full ? 1000 : 200))
const servers = cpuProf
  ? ['gateway']
  : (
      opts.servers ??
      (full ? 'gateway,aedes,mosquitto,mosquitto-pinned' : 'gateway,aedes,mosquitto')
    )
      .split(',')
      .filter(Boolean)
const qosLevels = opts.qos.split(',').map(Number)
const parts = new Set(opts.parts.split(','))
const connectWindowMs = Number(opts['connect-window-ms'] ?? (full ? 4000 : 750))
// The quick profile is coarse (about ±15 %): few steps, short windows. --full for the numbers.
const publishSearch = full
  ? { confirm: true }
  : { factors: [0.8, 1.1], lowFactors: [0.5, 0.3], extraSteps: 2 }
// The fleet's closed-loop rate (50 in flight) is near capacity for the gateway (scrypt-bound) but
// latency-bound, far below capacity, for the brokers that do not hash: climb fast.
const connectSearch = full
  ? { factors: [0.5, 1, 1.5, 2, 3, 4, 6, 8], lowFactors: [0.3, 0.15], confirm: true }
  : { factors: [1, 2, 4], lowFactors: [0.5, 0.25], extraSteps: 1 }
const SERVER_CORE = 0
const GENERATOR_CORE = 1
const GENERATOR_BOUND_PCT = 85
const CONTENDED_PCT = 15
const FLEET_CONCURRENCY = 50
const MAX_CONNECT_P99_US = 1_000_000
const BURST_MESSAGES = full ? 50_000 : 20_000
const DRAIN_MS = 3000
const APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-0123456789' }

pinSelf(GENERATOR_CORE)
const here = (file) => new URL(file, import.meta.url)
const quiet = (maxMs) => waitForQuiet([SERVER_CORE, GENERATOR_CORE], { maxMs, log })

async function startServer(server, dir, storeTemplate) {
  if (server === 'mosquitto') return systemMosquitto()
  if (server === 'mosquitto-pinned') return pinnedMosquitto(SERVER_CORE, dir)
  let args = []
  if (server === 'gateway') {
    const store = join(dir, 'store.db')
    copyFileSync(storeTemplate, store)
    args = [store, JSON.stringify(APP), '', gateway.entry]
  }
  const script = server === 'gateway' ? '../lib/gateway-server.mjs' : 'aedes-server.mjs'
  const proc = spawnPinned(here(script), SERVER_CORE, { args, nodeArgs: serverNodeArgs })
  const ready = await proc.next('ready')
  const { host, port } = server === 'gateway' ? ready.mqtt : ready
  return {
    host,
    port,
    pid: proc.pid,
    pinned: true,
    stop: () => proc.stop(),
  }
}

/** Runs one generator command with a window and reads the server's CPU over that window. */
async function windowed(generator, server, message) {
  const r = await windowedCommand(generator, message, {
    pids: server.pid ? [server.pid] : [],
    cores: [SERVER_CORE, GENERATOR_CORE],
  })
  return { ...r, serverCorePct: r.corePcts[0] }
}

/** A step that failed while other processes held the cores is rerun (twice at most). */
async function withRetry(runOnce) {
  for (let attempt = 1; ; attempt++) {
    const step = await runOnce()
    if (step.pass || step.abort || step.contentionPct <= CONTENDED_PCT || attempt === 3) return step
    log('  failed under contention; retrying when the cores are quiet')
    await quiet(30_000)
  }
}

function stepLine(step, unit, rate) {
  return (
    `  offer ${fmt(step.offeredPerSec)} ${unit}/s -> ${fmt(rate)}/s  p50 ${fmt(step.p50Us)} µs  p99 ${fmt(step.p99Us)} µs` +
    `  CPU server ${fmt(step.serverCpuPct)}%  generator ${fmt(step.generatorCpuPct)}%` +
    `  ${step.pass ? 'ok' : 'FAIL'}${step.contentionPct > CONTENDED_PCT ? ` (contended ${fmt(step.contentionPct)}%)` : ''}` +
    (step.kept ? '' : ' (generator behind schedule)') +
    (step.drained ? '' : ' (not drained)')
  )
}

async function publishStep(generator, server, qos, ratePerSec) {
  const r = await windowed(generator, server, {
    cmd: 'publish',
    qos,
    ratePerSec,
    warmupMs,
    windowMs,
    drainMs: DRAIN_MS,
  })
  const { kept, pass } = publishVerdict(r, { ratePerSec, devices: n, qos })
  const step = { ...r, kept, pass, abort: r.closed > 0 }
  log(stepLine(step, 'msgs', r.processedPerSec ?? 0))
  if (r.closed > 0) log(`  the server closed ${r.closed} connections; stopping`)
  return step
}

async function churnStep(generator, server, target, devices, ratePerSec) {
  const r = await windowed(generator, server, {
    cmd: 'churn',
    host: target.host,
    port: target.port,
    devices,
    ratePerSec,
    warmupMs: Math.min(warmupMs, 1000),
    windowMs: connectWindowMs,
    drainMs: 10_000,
  })
  const kept = r.startedPerSec >= 0.98 * ratePerSec - 1 / r.seconds
  const pass =
    kept &&
    r.drained &&
    r.refused === 0 &&
    r.failed === 0 &&
    r.p99Us !== null &&
    r.p99Us <= MAX_CONNECT_P99_US &&
    r.ackedInWindow >= 0.95 * r.startedInWindow - 2
  const step = { ...r, kept, pass, abort: r.refused > 0 }
  log(stepLine(step, 'connects', r.connectsPerSec))
  if (r.refused || r.failed) log(`  ${r.refused} refused, ${r.failed} failed connects`)
  return step
}

const round = (v, digits = 0) =>
  v === null || v === undefined ? null : Math.round(v * 10 ** digits) / 10 ** digits

function bestFields(best, rateKey) {
  const rate = best ? best[rateKey] : null
  return {
    perSec: round(rate),
    p50Us: best?.p50Us ?? null,
    p99Us: best?.p99Us ?? null,
    serverCpuPct: round(best?.serverCpuPct),
    perServerCpuSec: best?.serverCpuPct > 0 ? round(rate / (best.serverCpuPct / 100)) : null,
    generatorCpuPct: round(best?.generatorCpuPct),
    generatorBound: best ? best.generatorCpuPct > GENERATOR_BOUND_PCT : null,
    contentionPct: round(best?.contentionPct),
    contended: best ? best.contentionPct > CONTENDED_PCT : null,
  }
}

const stepSummary = (rateKey) => (s) => ({
  offered: round(s.offeredPerSec),
  achieved: round(s[rateKey]),
  p50Us: s.p50Us,
  p99Us: s.p99Us,
  serverCpuPct: round(s.serverCpuPct),
  generatorCpuPct: round(s.generatorCpuPct),
  contentionPct: round(s.contentionPct),
  pass: s.pass,
})

async function measure(server, run, devices, storeTemplate, emit) {
  await quiet(60_000)
  const dir = mkdtempSync(join(tmpdir(), 'fleetcast-bench-mqtt-'))
  const target = await startServer(server, dir, storeTemplate)
  const generator = spawnPinned(here('generator.mjs'), GENERATOR_CORE)
  const base = { server, n, run, pinned: target.pinned }
  try {
    await generator.next('started')
    const fleetCpu = cpuWindow(target.pid ? [target.pid] : [], [])
    fleetCpu.start()
    const fleet = await generator.request({
      cmd: 'fleet',
      host: target.host,
      port: target.port,
      devices,
      concurrency: FLEET_CONCURRENCY,
    })
    const fleetServerCpu = fleetCpu.stop().serverCpuPct
    log(
      `${server} run ${run}: ${n} devices connected in ${fmt(fleet.ms)} ms (${fmt(fleet.connectsPerSec)}/s, ` +
        `p50 ${fmt(fleet.p50Us / 1000)} ms, server CPU ${fmt(fleetServerCpu)}%)`,
    )
    if (parts.has('publish')) {
      for (const qos of qosLevels) {
        await generator.request({ cmd: 'burst', qos, count: BURST_MESSAGES, maxMs: 30_000 })
        const probe = await generator.request({
          cmd: 'burst',
          qos,
          count: BURST_MESSAGES,
          maxMs: 30_000,
        })
        log(`  QoS ${qos}: burst estimate ${fmt(probe.msgsPerSec)} msgs/s`)
        const { best, steps } = await searchRate(
          (rate) => withRetry(() => publishStep(generator, target, qos, rate)),
          probe.msgsPerSec,
          publishSearch,
        )
        emit({
          bench: 'mqtt-publish',
          ...base,
          qos,
          payloadBytes: 100,
          ...bestFields(best, 'processedPerSec'),
          ackedPerSec: round(best?.ackedPerSec),
          writeEveryMs: best?.writeEveryMs ?? null,
          burstPerSec: round(probe.msgsPerSec),
          steps: steps.map(stepSummary('processedPerSec')),
        })
      }
    }
    await generator.request({ cmd: 'close-fleet' })
    if (parts.has('connect')) {
      // Churn reuses the ids the fleet had: let the broker finish those disconnects first.
      const { best, steps } = await searchRate(
        (rate) => withRetry(() => churnStep(generator, target, target, devices, rate)),
        fleet.connectsPerSec,
        connectSearch,
      )
      emit({
        bench: 'mqtt-connect',
        ...base,
        fleetConnectsPerSec: round(fleet.connectsPerSec, 1),
        fleetMs: fleet.ms,
        fleetP50Us: fleet.p50Us,
        fleetP99Us: fleet.p99Us,
        fleetServerCpuPct: round(fleetServerCpu),
        ...bestFields(best, 'connectsPerSec'),
        steps: steps.map(stepSummary('connectsPerSec')),
      })
    }
  } finally {
    await generator.stop()
    await target.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const gateway = snapshotGateway('mqtt')
const setupDir = mkdtempSync(join(tmpdir(), 'fleetcast-bench-mqtt-setup-'))
process.once('SIGINT', () => {
  gateway.remove()
  rmSync(setupDir, { recursive: true, force: true })
  process.exit(130)
})
log(
  `mqtt bench: ${machineLine()}; gateway ${gateway.build}; N = ${n} devices, ${runs} runs, servers ${servers.join(', ')}`,
)
const results = []
try {
  const storeTemplate = join(setupDir, 'store.db')
  const provisionStart = performance.now()
  const devices = await provisionStore(storeTemplate, APP, n, 'bench-mqtt-', gateway.entry)
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(storeTemplate + suffix)) throw new Error(`store ${suffix} left after close`)
  }
  log(`provisioned ${n} devices in ${fmt(performance.now() - provisionStart)} ms (one scrypt each)`)
  for (let run = 1; run <= runs; run++) {
    // Alternate the order so drift on the shared machine does not always favour one server.
    const order = run % 2 === 1 ? servers : [...servers].reverse()
    for (const server of order) {
      const emit = (result) => {
        const row = { ...result, build: gateway.build }
        results.push(row)
        console.log(JSON.stringify(row))
      }
      try {
        await measure(server, run, devices, storeTemplate, emit)
      } catch (error) {
        log(`${server} run ${run} failed: ${error.stack ?? error}`)
        emit({ bench: 'mqtt', server, n, run, error: String(error.message ?? error) })
      }
    }
  }
} finally {
  gateway.remove()
  rmSync(setupDir, { recursive: true, force: true })
}
console.log(`\n${summaryTables(results, servers)}`)
if (cpuProf) log(`cpu profile written to ${cpuProf}`)
