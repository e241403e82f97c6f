import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Memory and descriptors of a server process, read from /proc (Linux), and the node options
 * that let the driver ask a node server for a garbage collection first (memory-hook.mjs).
 */

/** Node options for spawnPinned: `--expose-gc` and the preload answering `{ cmd: 'memory' }`. */
export const MEMORY_NODE_ARGS = [
  '--expose-gc',
  '--import',
  fileURLToPath(new URL('memory-hook.mjs', import.meta.url)),
]

/** Resident set size of `pid` in bytes (VmRSS), or null when unreadable. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
    return kb === undefined ? null : Number(kb) * 1024
  } catch {
    return null
  }
}

/** Open file descriptors of `pid` (sockets included), or null when unreadable. */
export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return null
  }
}

/** The soft open-file limit of `pid`, or null when unreadable. */
export function fdLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'latin1')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    return Number(line?.split(/\s+/)[3]) || null
  } catch {
    return null
  }
}

/**
 * Makes sure `pid` may hold `needed` descriptors: below that, raises its open-file limit (soft
 * and hard) to `needed` with prlimit(1), which root may do past the hard limit the process
 * inherited. Returns `{ limit, raised }`.
 */
export function ensureFdLimit(pid, needed) {
  const limit = fdLimit(pid)
  if (limit !== null && limit >= needed) return { limit, raised: false }
  execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${needed}:${needed}`], { stdio: 'ignore' })
  return { limit: fdLimit(pid), raised: true }
}

/**
 * The server's memory once it is idle: for a node server started with MEMORY_NODE_ARGS (`proc`
 * from spawnPinned) after two full collections, with its heap figures; for any other process
 * (mosquitto) RSS only. `rss` always comes from /proc.
 */
export async function settledMemory(pid, proc = null) {
  const heap = proc ? await proc.request({ cmd: 'memory' }) : null
  return {
    rss: rssBytes(pid),
    gc: heap?.gc ?? false,
    heapUsed: heap?.heapUsed ?? null,
    heapTotal: heap?.heapTotal ?? null,
    newSpace: heap?.newSpace ?? null,
    external: heap?.external ?? null,
    arrayBuffers: heap?.arrayBuffers ?? null,
  }
}

/**
 * Samples `pid`'s RSS and descriptor count every `everyMs` until `stop()`, which returns the
 * samples `{ epochMs, rss, fds }` (epochMs: performance.timeOrigin + performance.now(), which
 * other processes of the machine can compare with theirs).
 */
export function sampleProcess(pid, everyMs = 100) {
  const samples = []
  const take = () =>
    samples.push({
      epochMs: performance.timeOrigin + performance.now(),
      rss: rssBytes(pid),
      fds: fdCount(pid),
    })
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return samples
    },
  }
}
