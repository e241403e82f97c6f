import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** A bench process pinned to one core with taskset, driven over IPC. */
export function spawnPinned(script, core, { args = [], nodeArgs = [] } = {}) {
  const path = fileURLToPath(new URL(script, import.meta.url))
  const proc = spawn(
    'taskset',
    ['-c', String(core), process.execPath, ...nodeArgs, path, ...args],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  const queue = []
  const waiters = []
  let failure = null
  const fail = (error) => {
    failure ??= error
    for (const waiter of waiters.splice(0)) waiter.reject(failure)
  }
  proc.on('message', (message) => {
    if (message.type === 'error') return fail(new Error(`${script}: ${message.message}`))
    const at = waiters.findIndex((w) => w.type === message.type)
    if (at >= 0) waiters.splice(at, 1)[0].resolve(message)
    else queue.push(message)
  })
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  proc.on('exit', (code, signal) => fail(new Error(`${script} exited (${code ?? signal})`)))

  return {
    pid: proc.pid,
    send: (message) => proc.send(message),
    /** The next message of `type`, already received or still to come. */
    next(type) {
      const at = queue.findIndex((m) => m.type === type)
      if (at >= 0) return Promise.resolve(queue.splice(at, 1)[0])
      if (failure) return Promise.reject(failure)
      return new Promise((resolve, reject) => waiters.push({ type, resolve, reject }))
    },
    request(message) {
      proc.send(message)
      return this.next(message.cmd)
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.send({ cmd: 'exit' })
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}

const TICKS_PER_SEC = 100

/** User + system CPU seconds of a process, all threads, from /proc (Linux). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC
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
  return { busy, total: busy + idle + iowait + steal, steal, softirq }
}

/** Busy share (%) of each core over `ms`, stolen time included. */
export async function sampleCores(cores, ms) {
  const before = cores.map(coreTicks)
  await new Promise((resolve) => setTimeout(resolve, ms))
  return cores.map((core, i) => busyPct(before[i], coreTicks(core)))
}

export function busyPct(before, after) {
  const total = after.total - before.total
  return total > 0 ? ((after.busy + after.steal - before.busy - before.steal) / total) * 100 : 0
}
