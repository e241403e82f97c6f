import type { Database, Statement } from 'better-sqlite3'

interface QueueRow {
  id: number
  app_id: string
  url: string
  body: string
  attempts: number
  next_attempt_at: number
  expires_at: number
  last_error: string | null
}

/** One webhook POST waiting for (another) attempt. Times are epoch milliseconds. */
export interface QueuedWebhook {
  id: number
  appId: string
  url: string
  /** The exact bytes to POST and sign. */
  body: string
  /** Failed attempts so far. */
  attempts: number
  nextAttemptAt: number
  /** After this, a failed attempt drops the row instead of rescheduling it. */
  expiresAt: number
  lastError: string | null
}

export interface NewWebhook {
  appId: string
  url: string
  body: string
  nextAttemptAt: number
  expiresAt: number
}

function toQueued(row: QueueRow): QueuedWebhook {
  return {
    id: row.id,
    appId: row.app_id,
    url: row.url,
    body: row.body,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    expiresAt: row.expires_at,
    lastError: row.last_error,
  }
}

/**
 * The webhook delivery queue (table `webhook_queue`). Rows stay until they are delivered, expire
 * or are trimmed, so POSTs survive a restart.
 */
export class WebhookQueue {
  readonly #insert: Statement<[Record<string, unknown>]>
  readonly #due: Statement<[number, number], QueueRow>
  readonly #nextAt: Statement<[], { at: number | null }>
  readonly #lease: Statement<[number, number]>
  readonly #reschedule: Statement<[number, string, number]>
  readonly #remove: Statement<[number]>
  readonly #count: Statement<[], { n: number }>
  readonly #idSpan: Statement<[], { lo: number | null; hi: number | null }>
  readonly #trim: Statement<[number]>

  constructor(db: Database) {
    this.#insert = db.prepare(`
      INSERT INTO webhook_queue (app_id, url, body, attempts, next_attempt_at, expires_at)
      VALUES (@appId, @url, @body, 0, @nextAttemptAt, @expiresAt)`)
    this.#due = db.prepare(`
      SELECT * FROM webhook_queue WHERE next_attempt_at <= ?
      ORDER BY next_attempt_at, id LIMIT ?`)
    this.#nextAt = db.prepare('SELECT MIN(next_attempt_at) AS at FROM webhook_queue')
    this.#lease = db.prepare('UPDATE webhook_queue SET next_attempt_at = ? WHERE id = ?')
    this.#reschedule = db.prepare(`
      UPDATE webhook_queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?
      WHERE id = ?`)
    this.#remove = db.prepare('DELETE FROM webhook_queue WHERE id = ?')
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM webhook_queue')
    this.#idSpan = db.prepare('SELECT MIN(id) AS lo, MAX(id) AS hi FROM webhook_queue')
    // Everything up to and including the (max+1)-th newest row; ids grow with enqueue order.
    this.#trim = db.prepare(`
      DELETE FROM webhook_queue
      WHERE id <= (SELECT id FROM webhook_queue ORDER BY id DESC LIMIT 1 OFFSET ?)`)
  }

  /** Adds a POST; returns its id. */
  enqueue(webhook: NewWebhook): number {
    return Number(this.#insert.run({ ...webhook }).lastInsertRowid)
  }

  /** Rows whose next attempt is at or before `now`, soonest first. */
  due(now: number, limit: number): QueuedWebhook[] {
    return this.#due.all(now, limit).map(toQueued)
  }

  /** When the soonest row is due; undefined when the queue is empty. */
  nextAttemptAt(): number | undefined {
    return this.#nextAt.get()?.at ?? undefined
  }

  /**
   * Moves a row's next attempt without counting a failure: the sender leases a row it is
   * sending, so a crash mid-POST leaves it to be retried after the lease.
   */
  lease(id: number, until: number): void {
    this.#lease.run(until, id)
  }

  /** Counts a failed attempt and sets the next one. */
  reschedule(id: number, nextAttemptAt: number, error: string): void {
    this.#reschedule.run(nextAttemptAt, error, id)
  }

  remove(id: number): void {
    this.#remove.run(id)
  }

  count(): number {
    return this.#count.get()?.n ?? 0
  }

  /** Keeps the newest `max` rows; returns how many older ones were dropped. */
  trim(max: number): number {
    // Cheap bound first: ids are consecutive at enqueue, so a short id span means few rows.
    const { lo, hi } = this.#idSpan.get() ?? { lo: null, hi: null }
    if (lo === null || hi === null || hi - lo + 1 <= max) return 0
    return this.#trim.run(max).changes
  }
}
