import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CONTENDED_PCT, GENERATOR_BOUND_PCT, waitForQuiet } from './lib/cpu.mjs'
import { snapshotGateway } from './lib/gateway-snapshot.mjs'
import { pinSelf } from './lib/processes.mjs'
import { machineLine, log as write } from './lib/report.mjs'
import { suiteReport } from './lib/suite-report.mjs'

/**
 * The benchmark suite of issue 9: `npm run bench` (quick profile) or `npm run bench -- --full`.
 *
 * A scenario is a module `bench/scenarios/<n>-<name>.mjs` exporting `default`:
 *   {
 *     id: 'ingress', number: 1, title: 'Device ingress',
 *     servers(profile) -> string[]            the gateway first, then the baselines
 *     variants(profile) -> [{ name, params }]  [] skips the scenario in this profile
 *     measure({ server, variant, run, profile, log, reuse }) -> Promise<Measurement[]>
 *     targets?: [{ description, check(rows) -> { met: true|false|null, detail } }]
 *     notes?(profile) -> string[]              what this profile leaves out or scales down
 *     figures?: [{ key, label, digits?, ratio? }]  scenario-specific columns of the report
 *   }
 * The runner calls `measure` for run 1..runs, every server in turn (the order alternates from one
 * run to the next), every variant of that server in a row. `reuse(key, start)` keeps what
 * `start()` resolves to (an object with an optional async `stop()`) across the variants of one
 * server in one run: e.g. a server process and a connected generator; the runner stops it when
 * the server's last variant of the run is done.
 *
 * `profile` (one per invocation):
 *   name 'quick' | 'full', full, runs,
 *   cores { server: 0, generator: 1 }      servers on core 0; generators (and this runner) on 1
 *   gateway { entry, build }               a snapshot of gateway/dist: load the gateway from entry
 *   cpuProfDir                             null, or where gateway servers write --cpu-prof files
 *   nodeArgs(server, label)                node arguments for a server process (--cpu-prof when
 *                                          profiling, the perf map flags with --perf-map, when
 *                                          `server` is the scenario's gateway)
 *   once(key, make)                        memoised for the invocation (a provisioned store, say)
 *   workDir                                a temporary directory, removed at the end
 *   quiet(maxMs?)                          waits until both cores are quiet (the runner already
 *                                          does before every measure call)
 *   band [25, 60], targetCpuPct 40         where the primary figure is read (bench/lib/steps.mjs
 *                                          atServerCpu, measurementFigures)
 *   step { warmupMs, windowMs, calibrationWarmupMs, calibrationMs, serverWarmupMs }
 *                                          the open-loop step's phases in this profile (quick:
 *                                          200 / 600 / 200 / 400 / 400 ms; full: 1000 / 3000 /
 *                                          500 / 1000 / 2000 ms); serverWarmupMs is the window
 *                                          of each warm-up step of a fresh server
 *                                          (bench/lib/steps.mjs warmUpServer)
 *   generatorBoundPct 85, contendedPct 15
 *
 * A Measurement is one flat JSON object per server × variant × run: { scenario, variant, server,
 * run, build, cpuUsPerMsg, ratePerSec, p50Us, p99Us, p999Us, serverCpuPct, generatorCpuPct,
 * generatorBound, contended, ...scenario-specific numbers } (null where a figure does not apply);
 * the runner fills in scenario, variant, server, run and build when a row leaves them out.
 * Output: one JSON line per Measurement on stdout, progress on stderr, then the markdown report
 * (bench/lib/suite-report.mjs).
 */
const USAGE = `usage: npm run bench [-- --full] [-- --scenarios 1,fanout] [-- --runs 3]
       node bench/run.mjs [--full] [--scenarios ids] [--runs N] [--servers names] [--cpu-prof DIR]
  --full        the full profile: every variant, longer windows, the rate searches
                (default: the quick profile, under 3 minutes)
  --scenarios   scenario numbers, ids or file names (1,fanout,3-device-to-browser); default all
  --runs        runs per server and variant (default 3)
  --servers     only these servers (the gateway is kept as the first when listed)
  --cpu-prof    one run of each scenario's gateway only, under node --cpu-prof, into DIR
                (summarise: node bench/lib/profile-summary.mjs DIR/*.cpuprofile)
  --perf-map    gateway servers write /tmp/perf-PID.map, so \`perf record -g -p PID\` names
                their JavaScript frames (--cpu-prof under-samples a server pinned to one core)`

const { values: opts } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    runs: { type: 'string', default: '3' },
    servers: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'perf-map': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (opts.help) {
  console.log(USAGE)
  process.exit(0)
}

const SERVER_CORE = 0
/** Progress on stderr, each line with the seconds since the start. */
const log = (text) =>
  write(
    text.replace(
      /^(\n*)/,
      (nl) => `${nl}[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] `,
    ),
  )
const GENERATOR_CORE = 1
const started = performance.now()
const cpuProfDir = opts['cpu-prof'] ?? null
const runs = cpuProfDir ? 1 : Number(opts.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${opts.runs} is not >= 1`)
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true })

// The runner only waits while a step runs: it shares the generators' core, not the server's.
pinSelf(GENERATOR_CORE)

const scenarioDir = new URL('./scenarios/', import.meta.url)
async function loadScenarios() {
  const files = readdirSync(scenarioDir)
    .filter((f) => f.endsWith('.mjs'))
    .sort((a, b) => (Number.parseInt(a, 10) || 1e9) - (Number.parseInt(b, 10) || 1e9))
  const scenarios = []
  for (const file of files) {
    let scenario
    try {
      scenario = (await import(new URL(file, scenarioDir).href)).default
    } catch (error) {
      log(`bench/scenarios/${file}: does not load (${error.message ?? error}); skipped`)
      continue
    }
    const missing = ['servers', 'variants', 'measure'].filter(
      (key) => typeof scenario?.[key] !== 'function',
    )
    if (!scenario?.id || missing.length > 0) {
      log(`bench/scenarios/${file}: not a scenario (missing id or ${missing.join(', ')}); skipped`)
      continue
    }
    scenarios.push({ ...scenario, file: file.replace(/\.mjs$/, '') })
  }
  return scenarios
}

function selected(scenarios) {
  if (!opts.scenarios) return scenarios
  const wanted = opts.scenarios.split(',').filter(Boolean)
  for (const name of wanted) {
    if (!scenarios.some((s) => matches(s, name))) throw new Error(`no scenario ${name}`)
  }
  return scenarios.filter((s) => wanted.some((name) => matches(s, name)))
}

const matches = (scenario, name) =>
  [scenario.id, String(scenario.number), scenario.file].includes(name)

const gateway = snapshotGateway('suite')
const workDir = mkdtempSync(join(tmpdir(), 'fleetcast-bench-suite-'))
const memo = new Map()
let gatewayServer = null
const profile = {
  name: opts.full ? 'full' : 'quick',
  full: opts.full,
  runs,
  cores: { server: SERVER_CORE, generator: GENERATOR_CORE },
  gateway: { entry: gateway.entry, build: gateway.build },
  cpuProfDir,
  nodeArgs(server, label = server) {
    if (server !== gatewayServer) return []
    const args = opts['perf-map']
      ? ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack']
      : []
    if (!cpuProfDir) return args
    const dir = join(cpuProfDir, label.replace(/[^\w.-]+/g, '-'))
    mkdirSync(dir, { recursive: true })
    return [...args, '--cpu-prof', `--cpu-prof-dir=${dir}`]
  },
  once(key, make) {
    if (!memo.has(key)) memo.set(key, Promise.resolve().then(make))
    return memo.get(key)
  },
  workDir,
  quiet: (maxMs = opts.full ? 60_000 : 5000) =>
    waitForQuiet([SERVER_CORE, GENERATOR_CORE], {
      maxMs,
      sampleMs: opts.full ? 1000 : 100,
      log,
    }),
  band: [25, 60],
  targetCpuPct: 40,
  step: opts.full
    ? {
        warmupMs: 1000,
        windowMs: 3000,
        calibrationWarmupMs: 500,
        calibrationMs: 1000,
        serverWarmupMs: 2000,
      }
    : {
        warmupMs: 200,
        windowMs: 600,
        calibrationWarmupMs: 200,
        calibrationMs: 400,
        serverWarmupMs: 400,
      },
  generatorBoundPct: GENERATOR_BOUND_PCT,
  contendedPct: CONTENDED_PCT,
}

function cleanUp() {
  gateway.remove()
  rmSync(workDir, { recursive: true, force: true })
}
process.once('SIGINT', () => {
  cleanUp()
  process.exit(130)
})

/** `reuse` for one server in one run: started once, stopped when the server's variants are done. */
function reuseScope() {
  const kept = new Map()
  return {
    reuse(key, start) {
      if (!kept.has(key)) kept.set(key, Promise.resolve().then(start))
      return kept.get(key)
    },
    async stopAll() {
      for (const [key, value] of kept) {
        try {
          await (await value)?.stop?.()
        } catch (error) {
          log(`  stopping ${key}: ${error.message ?? error}`)
        }
      }
      kept.clear()
    },
  }
}

const runsOf = []
async function runScenario(scenario) {
  const all = scenario.servers(profile)
  const wantedServers = opts.servers?.split(',').filter(Boolean)
  let servers = wantedServers ? all.filter((s) => wantedServers.includes(s)) : all
  if (cpuProfDir) servers = servers.filter((s) => s === all[0])
  const variants = scenario.variants(profile)
  const notes = scenario.notes?.(profile) ?? []
  const entry = { scenario, servers, gateway: all[0], variants, notes, rows: [], started: 0 }
  runsOf.push(entry)
  for (const note of notes) log(`${scenario.number}-${scenario.id}: ${note}`)
  if (variants.length === 0 || servers.length === 0) {
    log(`${scenario.number}-${scenario.id}: skipped in the ${profile.name} profile`)
    entry.skipped = true
    return
  }
  entry.started = performance.now()
  gatewayServer = all[0]
  log(
    `\n== ${scenario.number} ${scenario.id}: ${scenario.title}; servers ${servers.join(', ')}; ` +
      `variants ${variants.map((v) => v.name).join(', ')}; ${runs} runs`,
  )
  for (let run = 1; run <= runs; run++) {
    // Alternate the order so drift on the shared machine does not always favour one server.
    const order = run % 2 === 1 ? servers : [...servers].reverse()
    for (const server of order) {
      const scope = reuseScope()
      try {
        for (const variant of variants) {
          await profile.quiet()
          log(`${scenario.id} ${variant.name} ${server} run ${run}`)
          const base = {
            scenario: scenario.id,
            variant: variant.name,
            server,
            run,
            build: gateway.build,
          }
          let rows
          try {
            rows = await scenario.measure({
              server,
              variant,
              run,
              profile,
              log,
              reuse: scope.reuse,
            })
          } catch (error) {
            log(
              `  ${scenario.id} ${variant.name} ${server} run ${run} failed: ${error.stack ?? error}`,
            )
            rows = [{ error: String(error.message ?? error) }]
          }
          for (const row of rows ?? []) {
            const full = { ...base, ...row }
            entry.rows.push(full)
            console.log(JSON.stringify(full))
          }
        }
      } finally {
        await scope.stopAll()
      }
    }
  }
  entry.seconds = (performance.now() - entry.started) / 1000
}

log(`fleetcast bench suite (${profile.name}): ${machineLine()}; gateway ${gateway.build}`)
try {
  const scenarios = selected(await loadScenarios())
  for (const scenario of scenarios) await runScenario(scenario)
} finally {
  cleanUp()
}
console.log(
  `\n${suiteReport(runsOf, {
    profile,
    machine: machineLine(),
    build: gateway.build,
    wallSeconds: (performance.now() - started) / 1000,
  })}`,
)
if (cpuProfDir) log(`cpu profiles written under ${cpuProfDir}`)
