import type { Config } from '../config/schema.js'

interface Record {
  failures: number[]
  bannedUntil: number
  bans: number
}

/**
 * Failed-login throttling per key (a device id, a remote address), EMQX flapping-detection
 * style: `limit` failures within `window` seconds ban the key for `ban` seconds, doubling with
 * each further ban up to `maxBan`. Memory is bounded by pruning keys that have gone quiet.
 */
export class LoginThrottle {
  readonly #records = new Map<string, Record>()
  readonly #options: Config['mqtt']['loginFailures']
  /** Hard cap on tracked keys: a login storm from many addresses cannot grow this without bound. */
  readonly #maxKeys: number

  constructor(options: Config['mqtt']['loginFailures'], maxKeys = 100_000) {
    this.#options = options
    this.#maxKeys = maxKeys
  }

  /** Seconds the key is still banned for, or 0. */
  bannedFor(key: string, now: number): number {
    const record = this.#records.get(key)
    if (!record || record.bannedUntil <= now) return 0
    return Math.ceil((record.bannedUntil - now) / 1000)
  }

  /** Counts a failure; returns the ban in seconds it triggered, or 0. */
  fail(key: string, now: number): number {
    const { limit, window, ban, maxBan } = this.#options
    let record = this.#records.get(key)
    if (!record) {
      if (this.#records.size >= this.#maxKeys) this.#prune(now)
      record = { failures: [], bannedUntil: 0, bans: 0 }
      this.#records.set(key, record)
    }
    record.failures = record.failures.filter((at) => now - at < window * 1000)
    record.failures.push(now)
    if (record.failures.length < limit) return 0
    const seconds = Math.min(maxBan, ban * 2 ** record.bans)
    record.bans += 1
    record.bannedUntil = now + seconds * 1000
    record.failures = []
    return seconds
  }

  /** A good login clears the failures (not the escalation, so flapping keeps doubling). */
  succeed(key: string): void {
    const record = this.#records.get(key)
    if (record) record.failures = []
  }

  #prune(now: number): void {
    const quietFor = Math.max(this.#options.window, this.#options.maxBan) * 1000
    for (const [key, record] of this.#records) {
      const last = Math.max(record.bannedUntil, record.failures.at(-1) ?? 0)
      if (now - last > quietFor) this.#records.delete(key)
    }
    // Still full: forget the oldest entries rather than grow.
    for (const key of this.#records.keys()) {
      if (this.#records.size < this.#maxKeys) break
      this.#records.delete(key)
    }
  }
}
