import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpuWindow, waitForQuiet } from '../lib/cpu.mjs'
import { driverOptions } from '../lib/driver-options.mjs'
import { snapshotGateway } from '../lib/gateway-snapshot.mjs'
import { pinSelf, spawnPinned } from '../lib/processes.mjs'
import { fmt, log, machineLine } from '../lib/report.mjs'
import { searchRate } from '../lib/steps.mjs'
import { summaryTable } from './summary.mjs'

/**
 * REST trigger benchmark: signed POST /apps/{id}/events to a channel with S WebSocket subscribers,
 * Fleetcast gateway against a bare node:http server that reads, JSON-parses and answers `{}`.
 * Servers on core 0, the generator (HTTP connections and subscribers) and this driver on core 1.
 * One JSON line per run on stdout, progress on stderr, a markdown table at the end.
 */
const USAGE = `usage: node bench/rest/run.mjs [--full] [--runs 3] [--servers gateway,bare]
  [--connections 8] [--subscribers 4] [--window-ms 1500] [--warmup-ms 500] [--cpu-prof DIR]
  --full       3 s windows and finer rate steps (default: 1.5 s windows)
  --cpu-prof   profile the gateway (one run) with node --cpu-prof into DIR`

const { opts, full, runs, windowMs, warmupMs, cpuProf, serverNodeArgs } = driverOptions(USAGE, {
  options: {
    servers: { type: 'string', default: 'gateway,bare' },
    connections: { type: 'string', default: '8' },
    subscribers: { type: 'string', default: '4' },
  },
  windows: { quick: [1500, 500], full: [3000, 1000] },
})
const servers = cpuProf ? ['gateway'] : opts.servers.split(',').filter(Boolean)
const connections = Number(opts.connections)
const subscribers = Number(opts.subscribers)
const search = full ? { confirm: true } : { factors: [0.7, 1, 1.3, 1.6], lowFactors: [0.45, 0.3] }
const SERVER_CORE = 0
const GENERATOR_CORE = 1
const GENERATOR_BOUND_PCT = 85
const CONTENDED_PCT = 15
const BURST_REQUESTS = full ? 20_000 : 10_000
const DRAIN_MS = 3000
/** A step passes only with p99 under this: past its limit a server builds a queue. */
const MAX_P99_US = 250_000
const APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-0123456789' }
const CHANNEL = 'private-bench-rest'

pinSelf(GENERATOR_CORE)
const here = (file) => new URL(file, import.meta.url)
const quiet = (maxMs) => waitForQuiet([SERVER_CORE, GENERATOR_CORE], { maxMs, log })

async function runStepOnce(generator, serverPid, ratePerSec) {
  const cpu = cpuWindow([serverPid], [SERVER_CORE, GENERATOR_CORE])
  generator.send({ cmd: 'step', ratePerSec, warmupMs, windowMs, drainMs: DRAIN_MS })
  await generator.next('window-start')
  cpu.start()
  await generator.next('window-end')
  const { serverCpuPct, corePcts } = cpu.stop()
  const r = await generator.next('step')
  const contentionPct = Math.max(0, corePcts[0] + corePcts[1] - serverCpuPct - r.generatorCpuPct)
  const kept = !r.exhausted && r.sentPerSec >= 0.98 * ratePerSec - connections / r.seconds
  const pass =
    kept &&
    r.drained &&
    r.delivered &&
    r.errors === 0 &&
    r.closed === 0 &&
    r.p99Us !== null &&
    r.p99Us <= MAX_P99_US &&
    r.requestsPerSec >= 0.97 * r.sentPerSec
  const step = { ...r, serverCpuPct, contentionPct, kept, pass, abort: r.errors > 0 }
  log(
    `  offer ${fmt(ratePerSec)} req/s -> ${fmt(r.requestsPerSec)}/s  p50 ${fmt(r.p50Us)} µs  p99 ${fmt(r.p99Us)} µs` +
      (r.e2eP50Us === null
        ? ''
        : `  REST->WS p50 ${fmt(r.e2eP50Us)} µs p99 ${fmt(r.e2eP99Us)} µs`) +
      `  CPU server ${fmt(serverCpuPct)}%  generator ${fmt(r.generatorCpuPct)}%` +
      `  ${pass ? 'ok' : 'FAIL'}${contentionPct > CONTENDED_PCT ? ` (contended ${fmt(contentionPct)}%)` : ''}` +
      (kept ? '' : ' (generator behind schedule)') +
      (r.drained ? '' : ' (not drained)') +
      (r.delivered ? '' : ' (deliveries missing)'),
  )
  if (r.errors > 0) log(`  ${r.errors} error answers, first: ${r.firstError}; stopping`)
  return step
}

/** A step that failed while other processes held the cores is rerun (twice at most). */
async function runStep(generator, serverPid, ratePerSec) {
  for (let attempt = 1; ; attempt++) {
    const step = await runStepOnce(generator, serverPid, ratePerSec)
    if (step.pass || step.abort || step.contentionPct <= CONTENDED_PCT || attempt === 3) return step
    log('  failed under contention; retrying when the cores are quiet')
    await quiet(30_000)
  }
}

const round = (v) => (v === null || v === undefined ? null : Math.round(v))

async function measure(server, run) {
  await quiet(60_000)
  const dir = mkdtempSync(join(tmpdir(), 'fleetcast-bench-rest-'))
  const serverProc =
    server === 'gateway'
      ? spawnPinned(here('../lib/gateway-server.mjs'), SERVER_CORE, {
          args: [join(dir, 'store.db'), JSON.stringify(APP), '', gateway.entry],
          nodeArgs: serverNodeArgs,
        })
      : spawnPinned(here('bare-server.mjs'), SERVER_CORE)
  const generator = spawnPinned(here('generator.mjs'), GENERATOR_CORE)
  try {
    const ready = await serverProc.next('ready')
    await generator.next('started')
    // The gateway reports its HTTP address as `ws`; the bare server as host and port.
    const { host, port } = server === 'gateway' ? ready.ws : ready
    const target = {
      host,
      port,
      appId: APP.id,
      key: APP.key,
      secret: APP.secret,
      channel: CHANNEL,
      subscribe:
        server === 'gateway'
          ? {
              host,
              port,
              key: APP.key,
              secret: APP.secret,
              channel: CHANNEL,
            }
          : null,
    }
    const setup = await generator.request({ cmd: 'setup', target, connections, subscribers })
    log(
      `${server} run ${run}: ${setup.connections} keep-alive connections, ${setup.subscribers} subscribers`,
    )
    await generator.request({ cmd: 'burst', count: BURST_REQUESTS, maxMs: 30_000 })
    const probe = await generator.request({ cmd: 'burst', count: BURST_REQUESTS, maxMs: 30_000 })
    if (probe.errors > 0) throw new Error(`the server refused requests: ${probe.firstError}`)
    log(`  burst estimate ${fmt(probe.requestsPerSec)} requests/s`)
    const { best, steps } = await searchRate(
      (rate) => runStep(generator, serverProc.pid, rate),
      probe.requestsPerSec,
      search,
    )
    return {
      bench: 'rest',
      server,
      run,
      connections,
      subscribers: setup.subscribers,
      requestsPerSec: round(best?.requestsPerSec),
      p50Us: best?.p50Us ?? null,
      p99Us: best?.p99Us ?? null,
      restToWsP50Us: best?.e2eP50Us ?? null,
      restToWsP99Us: best?.e2eP99Us ?? null,
      deliveriesPerSec: round(best?.deliveriesPerSec),
      serverCpuPct: round(best?.serverCpuPct),
      requestsPerServerCpuSec:
        best?.serverCpuPct > 0 ? round(best.requestsPerSec / (best.serverCpuPct / 100)) : null,
      generatorCpuPct: round(best?.generatorCpuPct),
      generatorBound: best ? best.generatorCpuPct > GENERATOR_BOUND_PCT : null,
      contentionPct: round(best?.contentionPct),
      contended: best ? best.contentionPct > CONTENDED_PCT : null,
      burstRequestsPerSec: round(probe.requestsPerSec),
      steps: steps.map((s) => ({
        offered: round(s.offeredPerSec),
        achieved: round(s.requestsPerSec),
        p50Us: s.p50Us,
        p99Us: s.p99Us,
        serverCpuPct: round(s.serverCpuPct),
        generatorCpuPct: round(s.generatorCpuPct),
        contentionPct: round(s.contentionPct),
        pass: s.pass,
      })),
    }
  } finally {
    await generator.stop()
    await serverProc.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const gateway = snapshotGateway('rest')
process.once('SIGINT', () => {
  gateway.remove()
  process.exit(130)
})
log(
  `rest bench: ${machineLine()}; gateway ${gateway.build}; ${runs} runs, ${connections} connections, ${subscribers} subscribers`,
)
const results = []
try {
  for (let run = 1; run <= runs; run++) {
    // Alternate the order so drift on the shared machine does not always favour one server.
    const order = run % 2 === 1 ? servers : [...servers].reverse()
    for (const server of order) {
      const result = await measure(server, run).catch((error) => {
        log(`${server} run ${run} failed: ${error.stack ?? error}`)
        return { bench: 'rest', server, run, error: String(error.message ?? error) }
      })
      const row = { ...result, build: gateway.build }
      results.push(row)
      console.log(JSON.stringify(row))
    }
  }
} finally {
  gateway.remove()
}
console.log(`\n${summaryTable(results)}`)
if (cpuProf) log(`cpu profile written to ${cpuProf}`)
