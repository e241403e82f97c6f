import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

const TICKS_PER_SEC = 100

/** User + system CPU seconds of a process, all threads, from /proc (Linux); null if unreadable. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC
  } catch {
    return null
  }
}

/** Busy and total jiffies of one CPU core from /proc/stat (busy = all but idle and iowait). */
export function coreTicks(core) {
  const line = readFileSync('/proc/stat', 'latin1')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `))
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const busy = user + nice + system + irq + softirq
  return { busy, total: busy + idle + iowait + steal, steal }
}

/** Busy share (%) of a core between two coreTicks() samples, stolen time included. */
export function busyPct(before, after) {
  const total = after.total - before.total
  return total > 0 ? ((after.busy + after.steal - before.busy - before.steal) / total) * 100 : 0
}

/** Busy share (%) of each core over `ms`. */
export async function sampleCores(cores, ms) {
  const before = cores.map(coreTicks)
  await sleep(ms)
  return cores.map((core, i) => busyPct(before[i], coreTicks(core)))
}

/** A result is generator-bound when the generator process used more than this share of its core. */
export const GENERATOR_BOUND_PCT = 85
/** ...and contended when other processes took more than this share (of one core) of the cores. */
export const CONTENDED_PCT = 15

/**
 * Waits (bounded) until every core is below `quietPct` busy: the machine is shared with other
 * developers' tests. Samples `sampleMs` at a time. Returns false when it gave up waiting.
 */
export async function waitForQuiet(
  cores,
  { maxMs = 60_000, quietPct = 20, sampleMs = 1000, log = () => {} } = {},
) {
  const deadline = performance.now() + maxMs
  for (let second = 0; ; second++) {
    const busy = await sampleCores(cores, sampleMs)
    if (busy.every((pct) => pct < quietPct)) return true
    const shown = busy.map((pct) => Math.round(pct)).join('%, ')
    if (performance.now() > deadline) {
      log(`  cores still busy (${shown}%) after ${maxMs / 1000} s; going on`)
      return false
    }
    if (second % Math.max(1, Math.round(15_000 / sampleMs)) === 0)
      log(`  waiting for quiet cores (${shown}% busy)`)
  }
}

/**
 * Measures a window on the server side: CPU of `pids` (summed) and busy share of `cores`, from
 * `start()` to `stop()`.
 */
export function cpuWindow(pids, cores) {
  let t0 = 0
  let cpu0 = []
  let cores0 = []
  return {
    start() {
      t0 = performance.now()
      cpu0 = pids.map(cpuSeconds)
      cores0 = cores.map(coreTicks)
    },
    stop() {
      const seconds = (performance.now() - t0) / 1000
      const cpu1 = pids.map(cpuSeconds)
      const known = cpu0.every((v) => v !== null) && cpu1.every((v) => v !== null)
      return {
        serverCpuPct: known
          ? (cpu1.reduce((a, v) => a + v, 0) / seconds -
              cpu0.reduce((a, v) => a + v, 0) / seconds) *
            100
          : null,
        corePcts: cores.map((core, i) => busyPct(cores0[i], coreTicks(core))),
      }
    },
  }
}

/**
 * One measurement window driven by a generator process (processes.mjs spawnPinned) that sends
 * `{ type: 'window-start' }` and `{ type: 'window-end' }` around its window and then answers the
 * command with a `generatorCpuPct`. Sends `message`, reads the CPU of the server `pids` (summed)
 * and both cores over the window, and resolves to the generator's answer with `serverCpuPct`,
 * `corePcts` and `contentionPct`: the time of the two cores our processes did not use (other
 * developers' tests, say), in % of one core.
 */
export async function windowedCommand(generator, message, { pids, cores = [0, 1] }) {
  const cpu = cpuWindow(pids, cores)
  generator.send(message)
  await generator.next('window-start')
  cpu.start()
  await generator.next('window-end')
  const { serverCpuPct, corePcts } = cpu.stop()
  const answer = await generator.next(message.cmd)
  const busy = corePcts.reduce((a, v) => a + v, 0)
  const contentionPct = Math.max(0, busy - (serverCpuPct ?? 0) - (answer.generatorCpuPct ?? 0))
  return { ...answer, serverCpuPct, corePcts, contentionPct }
}
