import type { Database, Statement } from 'better-sqlite3'

export interface LoginFailure {
  at: number
  deviceId: string | null
  address: string | null
  reason: string
}

/** Failed MQTT logins kept for `keepDays`, for the audit log and brute-force forensics. */
export class LoginFailures {
  readonly #insert: Statement<[Record<string, unknown>]>
  readonly #prune: Statement<[number]>
  readonly #recent: Statement<
    [number],
    { at: number; device_id: string | null; address: string | null; reason: string }
  >
  readonly #keepMs: number
  #lastPrune = 0

  constructor(db: Database, keepDays = 30) {
    this.#insert = db.prepare(
      'INSERT INTO login_failures (at, device_id, address, reason) VALUES (@at, @deviceId, @address, @reason)',
    )
    this.#prune = db.prepare('DELETE FROM login_failures WHERE at < ?')
    this.#recent = db.prepare(
      'SELECT at, device_id, address, reason FROM login_failures ORDER BY id DESC LIMIT ?',
    )
    this.#keepMs = keepDays * 86_400_000
  }

  record(failure: LoginFailure): void {
    this.#insert.run({ ...failure })
    // Pruning at most hourly keeps the table bounded without a timer.
    if (failure.at - this.#lastPrune > 3_600_000) {
      this.#lastPrune = failure.at
      this.#prune.run(failure.at - this.#keepMs)
    }
  }

  recent(limit: number): LoginFailure[] {
    return this.#recent
      .all(limit)
      .map((r) => ({ at: r.at, deviceId: r.device_id, address: r.address, reason: r.reason }))
  }
}
