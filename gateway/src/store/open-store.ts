import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3, { type Database } from 'better-sqlite3'
import { GatewayError } from '../errors/gateway-error.js'
import { AppRepository } from './app-repository.js'
import { AuditLog } from './audit-log.js'
import { ClaimRepository } from './claim-repository.js'
import { DeviceRepository } from './device-repository.js'
import { migrate } from './migrations.js'
import { TokenRepository } from './token-repository.js'
import { WebhookQueue } from './webhook-queue.js'

export interface Store {
  readonly path: string
  /** The connection itself, for the broker's session persistence (same file, same transactions). */
  readonly db: Database
  readonly apps: AppRepository
  readonly devices: DeviceRepository
  readonly webhookQueue: WebhookQueue
  readonly tokens: TokenRepository
  readonly claims: ClaimRepository
  /** Admin actions and failed device logins. */
  readonly audit: AuditLog
  /** Changes when another connection (the CLI, say) commits to the file (SQLite data_version). */
  dataVersion(): number
  /** True when a write transaction can be started right now (readiness check). */
  isWritable(): boolean
  close(): void
}

/**
 * Opens (creating if needed) the SQLite file, switches it to WAL so the CLI can write while the
 * gateway reads, and applies pending migrations.
 */
export function openStore(path: string): Store {
  let db: Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new BetterSqlite3(path)
    db.pragma('journal_mode = WAL')
    db.pragma('foreign_keys = ON')
    // Another process (the CLI) may hold the write lock for a moment.
    db.pragma('busy_timeout = 5000')
    db.pragma('synchronous = NORMAL')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new GatewayError(
      'FC_ERR_STORE_OPEN',
      `Cannot open the store at ${path} (store.path): ${reason}. Point store.path (or FLEETCAST_STORE__PATH) at a writable file.`,
      { cause: error },
    )
  }
  try {
    migrate(db)
  } catch (error) {
    db.close()
    throw error
  }
  return {
    path,
    db,
    apps: new AppRepository(db),
    devices: new DeviceRepository(db),
    webhookQueue: new WebhookQueue(db),
    tokens: new TokenRepository(db),
    claims: new ClaimRepository(db),
    audit: new AuditLog(db),
    dataVersion: () => db.pragma('data_version', { simple: true }) as number,
    isWritable: () => {
      try {
        // Taking the write lock proves the file is writable and not locked out by another process.
        db.exec('BEGIN IMMEDIATE; ROLLBACK')
        return true
      } catch {
        return false
      }
    },
    close: () => {
      if (db.open) db.close()
    },
  }
}
