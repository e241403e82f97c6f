import { parseArgs } from 'node:util'

/**
 * The command line every per-area driver (bench/{fanout,rest,mqtt,bridge}/run.mjs) shares: --full,
 * --runs, --servers, --window-ms, --warmup-ms, --cpu-prof DIR and --help (prints `usage`, exits),
 * plus the driver's own `options` (parseArgs form; one named like a shared one replaces it).
 * `windows` gives the default window and warm-up in ms per profile: { quick: [window, warm-up],
 * full: [window, warm-up] }. Profiling means one run.
 * Returns { opts, full, runs, windowMs, warmupMs, cpuProf (DIR or null), serverNodeArgs (the
 * --cpu-prof arguments for a profiled server) }.
 */
export function driverOptions(usage, { options = {}, windows }) {
  const { values: opts } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      servers: { type: 'string' },
      'window-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
      ...options,
    },
  })
  if (opts.help) {
    console.log(usage)
    process.exit(0)
  }
  const full = opts.full
  const cpuProf = opts['cpu-prof'] ?? null
  const [window, warmup] = full ? windows.full : windows.quick
  return {
    opts,
    full,
    runs: cpuProf ? 1 : Number(opts.runs),
    windowMs: Number(opts['window-ms'] ?? window),
    warmupMs: Number(opts['warmup-ms'] ?? warmup),
    cpuProf,
    serverNodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [],
  }
}
