import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitForQuiet, windowedCommand } from '../lib/cpu.mjs'
import { driverOptions } from '../lib/driver-options.mjs'
import { snapshotGateway } from '../lib/gateway-snapshot.mjs'
import { pinSelf, spawnPinned } from '../lib/processes.mjs'
import { fmt, log, machineLine } from '../lib/report.mjs'
import { searchRate } from '../lib/steps.mjs'
import { provisionStore } from '../mqtt/provision.mjs'
import { uplinkRules } from './rules.mjs'
import { bridgeVerdict } from './step-verdict.mjs'
import { rulesOf, summaryTables } from './summary.mjs'

/**
 * Bridge benchmark: device publish → browser. D devices publish QoS 0 readings to
 * `devices/{id}/events/reading`; through the gateway each becomes an event on
 * `private-device-{id}`, read by a thin Pusher-protocol subscriber, with 1 and with 1,000 uplink
 * rules (the matching rule last). Baseline, in the same run: bare aedes forwarding the same
 * publishes to one raw MQTT subscriber on `devices/+/events/#`. Servers on core 0, the generator
 * (devices and receivers) and this driver on core 1. One JSON line per run on stdout, progress on
 * stderr, markdown tables at the end.
 */
const USAGE = `usage: node bench/bridge/run.mjs [--full] [--runs 3]
  [--servers gateway-1,gateway-1000,aedes] [--devices 20] [--window-ms 1500] [--warmup-ms 500]
  [--cpu-prof DIR]
  --full       3 s windows, 1 s warm-ups, finer rate steps, failed steps confirmed
               (default: 1.5 s windows, 0.5 s warm-ups, a coarse search)
  servers      gateway-N (the gateway with N uplink rules, the matching one last), aedes (bare,
               no hooks, one MQTT subscriber)
  --cpu-prof   profile each gateway server (one run) with node --cpu-prof into DIR`

const { opts, full, runs, windowMs, warmupMs, cpuProf, serverNodeArgs } = driverOptions(USAGE, {
  options: { devices: { type: 'string', default: '20' } },
  windows: { quick: [1500, 500], full: [3000, 1000] },
})
const servers = (opts.servers ?? 'gateway-1,gateway-1000,aedes')
  .split(',')
  .filter(Boolean)
  .filter((s) => !cpuProf || rulesOf(s) !== null)
for (const server of servers) {
  if (server !== 'aedes' && rulesOf(server) === null) throw new Error(`unknown server ${server}`)
}
const deviceCount = Number(opts.devices)
const search = full ? { confirm: true } : { factors: [0.7, 1, 1.3, 1.6], lowFactors: [0.45, 0.3] }
const SERVER_CORE = 0
const GENERATOR_CORE = 1
const GENERATOR_BOUND_PCT = 85
const CONTENDED_PCT = 15
const BURST_MESSAGES = full ? 50_000 : 20_000
const DRAIN_MS = 3000
const APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-0123456789' }
const RECEIVER_FILTER = 'devices/+/events/#'

pinSelf(GENERATOR_CORE)
const here = (file) => new URL(file, import.meta.url)
const quiet = (maxMs) => waitForQuiet([SERVER_CORE, GENERATOR_CORE], { maxMs, log })

async function startServer(server, dir, storeTemplate) {
  const rules = rulesOf(server)
  if (rules === null) {
    const proc = spawnPinned(here('../mqtt/aedes-server.mjs'), SERVER_CORE)
    const ready = await proc.next('ready')
    return { proc, mqtt: { host: ready.host, port: ready.port }, ws: null }
  }
  const store = join(dir, 'store.db')
  copyFileSync(storeTemplate, store)
  const rulesFile = join(dir, 'uplink.json')
  writeFileSync(rulesFile, JSON.stringify(uplinkRules(rules)))
  const proc = spawnPinned(here('../lib/gateway-server.mjs'), SERVER_CORE, {
    args: [store, JSON.stringify(APP), rulesFile, gateway.entry],
    nodeArgs: serverNodeArgs,
  })
  const ready = await proc.next('ready')
  if (ready.uplinkRules !== rules) {
    await proc.stop()
    throw new Error(`the gateway loaded ${ready.uplinkRules} uplink rules, not ${rules}`)
  }
  return { proc, mqtt: ready.mqtt, ws: ready.ws }
}

/** One open-loop step with the server's CPU and both cores' busy share over its window. */
async function stepOnce(generator, serverPid, ratePerSec) {
  const r = await windowedCommand(
    generator,
    { cmd: 'step', ratePerSec, warmupMs, windowMs, drainMs: DRAIN_MS },
    { pids: [serverPid], cores: [SERVER_CORE, GENERATOR_CORE] },
  )
  // Core time our processes did not use: other developers' tests, say.
  const { serverCpuPct, contentionPct } = r
  const { kept, keptUp, pass } = bridgeVerdict(r, { ratePerSec, devices: deviceCount })
  const step = { ...r, serverCpuPct, contentionPct, kept, pass, abort: r.closed > 0 }
  log(
    `  offer ${fmt(ratePerSec)} msgs/s -> ${fmt(r.deliveredPerSec)}/s delivered` +
      `  p50 ${fmt(r.p50Us)} µs  p99 ${fmt(r.p99Us)} µs  p99.9 ${fmt(r.p999Us)} µs` +
      `  CPU server ${fmt(serverCpuPct)}%  generator ${fmt(r.generatorCpuPct)}%` +
      `  ${pass ? 'ok' : 'FAIL'}${contentionPct > CONTENDED_PCT ? ` (contended ${fmt(contentionPct)}%)` : ''}` +
      (kept ? '' : ' (generator behind schedule)') +
      (keptUp ? '' : ' (server behind)') +
      (r.receivedOfWindow < r.sentInWindow
        ? ` (${fmt(r.sentInWindow - r.receivedOfWindow)} of ${fmt(r.sentInWindow)} window messages missing)`
        : '') +
      (r.duplicates ? ` (${r.duplicates} duplicates)` : ''),
  )
  if (r.closed > 0) log(`  the server closed ${r.closed} connections; stopping`)
  else if (!r.drained) await generator.request({ cmd: 'drain', maxMs: 30_000 })
  return step
}

/** A step that failed while other processes held the cores is rerun (twice at most). */
async function runStep(generator, serverPid, ratePerSec) {
  for (let attempt = 1; ; attempt++) {
    const step = await stepOnce(generator, serverPid, ratePerSec)
    if (step.pass || step.abort || step.contentionPct <= CONTENDED_PCT || attempt === 3) return step
    log('  failed under contention; retrying when the cores are quiet')
    await quiet(30_000)
  }
}

const round = (v) => (v === null || v === undefined ? null : Math.round(v))

async function measure(server, run, devices, storeTemplate) {
  await quiet(60_000)
  const dir = mkdtempSync(join(tmpdir(), 'fleetcast-bench-bridge-'))
  let target = null
  const generator = spawnPinned(here('generator.mjs'), GENERATOR_CORE)
  try {
    target = await startServer(server, dir, storeTemplate)
    await generator.next('started')
    const setup = await generator.request({
      cmd: 'setup',
      mqtt: target.mqtt,
      ws: target.ws,
      devices,
      filter: RECEIVER_FILTER,
    })
    log(
      `${server} run ${run}: ${setup.devices} devices and ${setup.receivers} receivers connected in ${fmt(setup.setupMs)} ms`,
    )
    const burst = { cmd: 'burst', count: BURST_MESSAGES, maxMs: 30_000 }
    await generator.request(burst)
    const probe = await generator.request(burst)
    if (!probe.drained || probe.closed > 0) {
      throw new Error(
        `burst: ${probe.lost} of ${BURST_MESSAGES} messages lost, ${probe.closed} connections closed`,
      )
    }
    log(`  burst estimate ${fmt(probe.msgsPerSec)} msgs/s`)
    const { best, steps } = await searchRate(
      (rate) => runStep(generator, target.proc.pid, rate),
      probe.msgsPerSec,
      search,
    )
    return {
      bench: 'bridge',
      server,
      rules: rulesOf(server),
      run,
      devices: setup.devices,
      receivers: setup.receivers,
      payloadBytes: setup.payloadBytes,
      msgsPerSec: round(best?.deliveredPerSec),
      sentPerSec: round(best?.sentPerSec),
      p50Us: best?.p50Us ?? null,
      p99Us: best?.p99Us ?? null,
      p999Us: best?.p999Us ?? null,
      serverCpuPct: round(best?.serverCpuPct),
      msgsPerServerCpuSec:
        best?.serverCpuPct > 0 ? round(best.deliveredPerSec / (best.serverCpuPct / 100)) : null,
      generatorCpuPct: round(best?.generatorCpuPct),
      generatorBound: best ? best.generatorCpuPct > GENERATOR_BOUND_PCT : null,
      contentionPct: round(best?.contentionPct),
      contended: best ? best.contentionPct > CONTENDED_PCT : null,
      burstPerSec: round(probe.msgsPerSec),
      steps: steps.map((s) => ({
        offered: round(s.offeredPerSec),
        delivered: round(s.deliveredPerSec),
        sentInWindow: s.sentInWindow,
        receivedInWindow: s.receiptsInWindow,
        receivedOfWindow: s.receivedOfWindow,
        p50Us: s.p50Us,
        p99Us: s.p99Us,
        p999Us: s.p999Us,
        serverCpuPct: round(s.serverCpuPct),
        generatorCpuPct: round(s.generatorCpuPct),
        contentionPct: round(s.contentionPct),
        closed: s.closed,
        pass: s.pass,
      })),
    }
  } finally {
    await generator.stop()
    await target?.proc.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const gateway = snapshotGateway('bridge')
const setupDir = mkdtempSync(join(tmpdir(), 'fleetcast-bench-bridge-setup-'))
process.once('SIGINT', () => {
  gateway.remove()
  rmSync(setupDir, { recursive: true, force: true })
  process.exit(130)
})
log(
  `bridge bench: ${machineLine()}; gateway ${gateway.build}; ${deviceCount} devices, ${runs} runs, servers ${servers.join(', ')}`,
)
const results = []
try {
  const storeTemplate = join(setupDir, 'store.db')
  const devices = servers.some((s) => rulesOf(s) !== null)
    ? await provisionStore(storeTemplate, APP, deviceCount, 'bench-bridge-', gateway.entry)
    : Array.from({ length: deviceCount }, (_, i) => {
        const id = `bench-bridge-${String(i).padStart(5, '0')}`
        return { id, username: id, password: 'unused' }
      })
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(storeTemplate + suffix)) throw new Error(`store ${suffix} left after close`)
  }
  for (let run = 1; run <= runs; run++) {
    // Alternate the order so drift on the shared machine does not always favour one server.
    const order = run % 2 === 1 ? servers : [...servers].reverse()
    for (const server of order) {
      const result = await measure(server, run, devices, storeTemplate).catch((error) => {
        log(`${server} run ${run} failed: ${error.stack ?? error}`)
        return { bench: 'bridge', server, run, error: String(error.message ?? error) }
      })
      const row = { ...result, build: gateway.build }
      results.push(row)
      console.log(JSON.stringify(row))
    }
  }
} finally {
  gateway.remove()
  rmSync(setupDir, { recursive: true, force: true })
}
console.log(`\n${summaryTables(results, servers)}`)
if (cpuProf) log(`cpu profiles written to ${cpuProf}`)
