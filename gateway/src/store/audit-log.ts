import type { Database, Statement } from 'better-sqlite3'

/** `ok`, `refused` (a device login), or the error code an action failed with. */
export type AuditResult = string

export interface AuditEntry {
  id: number
  at: number
  /** Who acted: `cli`, `token:<id>`, `claim:<id>`, `address:<ip>` (a device login), `gateway`. */
  actor: string
  /** What was done, `<noun>.<verb>`: `device.add`, `app.rotate-secret`, `device.login`... */
  action: string
  appId: string | null
  /** The object acted on: a device, app, token or claim id. */
  target: string | null
  result: AuditResult
  /** Extra facts; never a secret, token or hash. */
  detail: Record<string, unknown> | null
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at' | 'appId' | 'target' | 'detail'> &
  Partial<Pick<AuditEntry, 'at' | 'appId' | 'target' | 'detail'>>

export interface AuditQuery {
  since?: number | undefined
  until?: number | undefined
  actor?: string | undefined
  /** Exact action, or a prefix ending in `.` (`device.`). */
  action?: string | undefined
  appId?: string | undefined
  target?: string | undefined
  result?: string | undefined
  /** Newest first; at most this many. */
  limit?: number | undefined
}

interface AuditRow {
  id: number
  at: number
  actor: string
  action: string
  app_id: string | null
  target: string | null
  result: string
  detail: string | null
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    appId: row.app_id,
    target: row.target,
    result: row.result,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  }
}

/** Who did what to which target, when, with what result (kept `keepDays`, pruned hourly). */
export class AuditLog {
  readonly #db: Database
  readonly #insert: Statement<[Record<string, unknown>]>
  readonly #prune: Statement<[number]>
  readonly #keepMs: number
  #lastPrune = 0

  constructor(db: Database, keepDays = 90) {
    this.#db = db
    this.#insert = db.prepare(`
      INSERT INTO audit_log (at, actor, action, app_id, target, result, detail)
      VALUES (@at, @actor, @action, @appId, @target, @result, @detail)`)
    this.#prune = db.prepare('DELETE FROM audit_log WHERE at < ?')
    this.#keepMs = keepDays * 86_400_000
  }

  record(entry: NewAuditEntry): void {
    const at = entry.at ?? Date.now()
    this.#insert.run({
      at,
      actor: entry.actor,
      action: entry.action,
      appId: entry.appId ?? null,
      target: entry.target ?? null,
      result: entry.result,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
    })
    // Pruning at most hourly keeps the table bounded without a timer.
    if (at - this.#lastPrune > 3_600_000) {
      this.#lastPrune = at
      this.#prune.run(at - this.#keepMs)
    }
  }

  query(filter: AuditQuery = {}): AuditEntry[] {
    const where: string[] = []
    const params: Record<string, unknown> = { limit: filter.limit ?? 100 }
    const equal = { actor: 'actor', appId: 'app_id', target: 'target', result: 'result' } as const
    for (const [key, column] of Object.entries(equal)) {
      const value = filter[key as keyof typeof equal]
      if (value === undefined) continue
      where.push(`${column} = @${key}`)
      params[key] = value
    }
    if (filter.since !== undefined) {
      where.push('at >= @since')
      params.since = filter.since
    }
    if (filter.until !== undefined) {
      where.push('at < @until')
      params.until = filter.until
    }
    if (filter.action !== undefined) {
      // A trailing dot asks for a family of actions; the prefix is bound, never spliced.
      where.push(
        filter.action.endsWith('.') ? 'substr(action, 1, @n) = @action' : 'action = @action',
      )
      params.action = filter.action
      params.n = filter.action.length
    }
    const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT @limit`
    return (this.#db.prepare(sql).all(params) as AuditRow[]).map(toEntry)
  }
}
