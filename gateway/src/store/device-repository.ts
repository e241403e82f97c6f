import type { Database, Statement } from 'better-sqlite3'
import type { Device } from '../domain/device.js'
import type { DeviceAcl } from '../domain/device-acl.js'
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE } from '../domain/names.js'
import { GatewayError } from '../errors/gateway-error.js'

interface DeviceRow {
  id: string
  app_id: string
  name: string | null
  tags: string
  enabled: number
  secret_hash: string
  previous_secret_hash: string | null
  previous_secret_expires_at: number | null
  acl: string | null
  revoked_at: number | null
  created_at: number
  last_seen_at: number | null
  updated_at: number
  connected_at: number | null
}

export interface NewDevice {
  id: string
  appId: string
  name?: string | undefined
  tags?: Record<string, string> | undefined
  acl?: DeviceAcl | undefined
  /** true unless told otherwise. */
  enabled?: boolean | undefined
  secretHash: string
}

/** Fields an import may change on an existing device; absent ones stay as they are. */
export interface DeviceChanges {
  name?: string | null | undefined
  tags?: Record<string, string> | undefined
  /** null: the default topic contract. */
  acl?: DeviceAcl | null | undefined
  enabled?: boolean | undefined
}

export interface DeviceFilter {
  appId?: string | undefined
  /** Devices whose tags hold every one of these key/value pairs. */
  tags?: Record<string, string> | undefined
  /** true: connected now (as the gateway last recorded); false: not connected. */
  online?: boolean | undefined
  /** Ids strictly after this one (keyset pagination). */
  after?: string | undefined
  limit?: number | undefined
}

/** A device with the secret hashes that may log in now, for the authenticator only. */
export interface DeviceCredentials {
  device: Device
  /** Current secret first; the previous one while its rotation overlap lasts. Empty when revoked. */
  secretHashes: string[]
}

export function assertDeviceId(id: string): void {
  if (!DEVICE_ID_PATTERN.test(id)) {
    throw new GatewayError(
      'FC_ERR_DEVICE_INVALID',
      `Device id "${id}" is invalid: ${DEVICE_ID_RULE}`,
    )
  }
}

function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    appId: row.app_id,
    name: row.name,
    tags: JSON.parse(row.tags) as Record<string, string>,
    enabled: row.enabled === 1,
    revokedAt: row.revoked_at,
    acl: row.acl === null ? null : (JSON.parse(row.acl) as DeviceAcl),
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    updatedAt: row.updated_at,
    connectedAt: row.connected_at,
  }
}

function notFound(id: string): GatewayError {
  return new GatewayError('FC_ERR_DEVICE_NOT_FOUND', `Device "${id}" does not exist`)
}

export class DeviceRepository {
  readonly #byId: Statement<[string], DeviceRow>
  readonly #insert: Statement<[Record<string, unknown>]>
  readonly #rotate: Statement<[Record<string, unknown>]>
  readonly #revoke: Statement<[Record<string, unknown>]>
  readonly #setEnabled: Statement<[Record<string, unknown>]>
  readonly #update: Statement<[Record<string, unknown>]>
  readonly #touch: Statement<[Record<string, unknown>]>
  readonly #changedSince: Statement<[number], DeviceRow>
  readonly #kick: Statement<[Record<string, unknown>]>
  readonly #connected: Statement<[Record<string, unknown>]>
  readonly #disconnectAll: Statement<[]>
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
    this.#byId = db.prepare('SELECT * FROM devices WHERE id = ?')
    this.#insert = db.prepare(`
      INSERT INTO devices (id, app_id, name, tags, enabled, secret_hash, acl, created_at, updated_at)
      VALUES (@id, @appId, @name, @tags, @enabled, @secretHash, @acl, @now, @now)`)
    this.#rotate = db.prepare(`
      UPDATE devices SET
        previous_secret_hash = CASE WHEN @overlapUntil > @now AND revoked_at IS NULL THEN secret_hash END,
        previous_secret_expires_at = CASE WHEN @overlapUntil > @now AND revoked_at IS NULL THEN @overlapUntil END,
        secret_hash = @secretHash, revoked_at = NULL, updated_at = @now
      WHERE id = @id`)
    this.#revoke = db.prepare(`
      UPDATE devices SET secret_hash = '', previous_secret_hash = NULL, previous_secret_expires_at = NULL,
        revoked_at = @now, updated_at = @now
      WHERE id = @id`)
    this.#setEnabled = db.prepare(
      'UPDATE devices SET enabled = @enabled, updated_at = @now WHERE id = @id',
    )
    this.#update = db.prepare(`
      UPDATE devices SET name = @name, tags = @tags, acl = @acl, enabled = @enabled,
        updated_at = CASE WHEN @endsSessions THEN @now ELSE updated_at END
      WHERE id = @id`)
    this.#touch = db.prepare('UPDATE devices SET last_seen_at = @at WHERE id = @id')
    this.#changedSince = db.prepare('SELECT * FROM devices WHERE updated_at >= ?')
    // A kick changes nothing but the stamp that live sessions are checked against.
    this.#kick = db.prepare('UPDATE devices SET updated_at = @now WHERE id = @id')
    this.#connected = db.prepare('UPDATE devices SET connected_at = @at WHERE id = @id')
    this.#disconnectAll = db.prepare(
      'UPDATE devices SET connected_at = NULL WHERE connected_at IS NOT NULL',
    )
  }

  find(id: string): Device | undefined {
    const row = this.#byId.get(id)
    return row && toDevice(row)
  }

  /** The device and the hashes valid at `now`; an expired previous secret is left out. */
  findCredentials(id: string, now = Date.now()): DeviceCredentials | undefined {
    const row = this.#byId.get(id)
    if (!row) return undefined
    const hashes = [
      row.secret_hash,
      ...(row.previous_secret_hash && (row.previous_secret_expires_at ?? 0) > now
        ? [row.previous_secret_hash]
        : []),
    ]
    return { device: toDevice(row), secretHashes: hashes.filter((h) => h.length > 0) }
  }

  /** Devices matching every given filter, by id. Values are bound, never spliced into SQL. */
  list(filter: DeviceFilter = {}): Device[] {
    const where: string[] = []
    const params: Record<string, unknown> = { limit: filter.limit ?? -1 }
    if (filter.appId !== undefined) {
      where.push('app_id = @appId')
      params.appId = filter.appId
    }
    if (filter.after !== undefined) {
      where.push('id > @after')
      params.after = filter.after
    }
    if (filter.online !== undefined) {
      where.push(filter.online ? 'connected_at IS NOT NULL' : 'connected_at IS NULL')
    }
    Object.entries(filter.tags ?? {}).forEach(([key, value], i) => {
      where.push(
        `EXISTS (SELECT 1 FROM json_each(devices.tags) WHERE key = @tagKey${i} AND value = @tagValue${i})`,
      )
      params[`tagKey${i}`] = key
      params[`tagValue${i}`] = value
    })
    const sql = `SELECT * FROM devices ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id LIMIT @limit`
    return (this.#db.prepare(sql).all(params) as DeviceRow[]).map(toDevice)
  }

  /** Ends the device's live connection and persistent session (a running gateway notices). */
  kick(id: string): Device {
    this.get(id)
    this.#kick.run({ id, now: Date.now() })
    return this.get(id)
  }

  /** Records that the device connected (`at`) or has no connection left (null). */
  setConnected(id: string, at: number | null): void {
    this.#connected.run({ id, at })
  }

  /** At gateway start nothing is connected yet, whatever a crash left behind. */
  clearConnected(): void {
    this.#disconnectAll.run()
  }

  /** Devices whose secrets or state changed at or after `since` (epoch ms). */
  changedSince(since: number): Device[] {
    return this.#changedSince.all(since).map(toDevice)
  }

  add(input: NewDevice): Device {
    assertDeviceId(input.id)
    try {
      this.#insert.run({
        id: input.id,
        appId: input.appId,
        name: input.name ?? null,
        tags: JSON.stringify(input.tags ?? {}),
        acl: input.acl ? JSON.stringify(input.acl) : null,
        enabled: input.enabled === false ? 0 : 1,
        secretHash: input.secretHash,
        now: Date.now(),
      })
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new GatewayError('FC_ERR_DEVICE_EXISTS', `Device "${input.id}" already exists`, {
          cause: error,
        })
      }
      throw error
    }
    return this.get(input.id)
  }

  /**
   * Replaces the secret. Until `overlapUntil` (epoch ms) the old secret still logs in, so a fleet
   * can be rolled over without downtime; a revoked device has no old secret to keep.
   */
  rotate(id: string, secretHash: string, overlapUntil: number): Device {
    this.get(id)
    this.#rotate.run({ id, secretHash, overlapUntil, now: Date.now() })
    return this.get(id)
  }

  /** Removes every secret: the device cannot log in until it is rotated. */
  revoke(id: string): Device {
    this.get(id)
    this.#revoke.run({ id, now: Date.now() })
    return this.get(id)
  }

  /**
   * Applies `changes` to a device. Only a change of `enabled` or the ACL bumps `updatedAt`, which
   * ends live sessions; a new name or tags reach the device's presence at its next login.
   */
  update(id: string, changes: DeviceChanges): Device {
    const current = this.get(id)
    const acl = changes.acl === undefined ? current.acl : changes.acl
    const enabled = changes.enabled ?? current.enabled
    this.#update.run({
      id,
      name: changes.name === undefined ? current.name : changes.name,
      tags: JSON.stringify(changes.tags ?? current.tags),
      acl: acl === null ? null : JSON.stringify(acl),
      enabled: enabled ? 1 : 0,
      endsSessions:
        enabled !== current.enabled || JSON.stringify(acl) !== JSON.stringify(current.acl) ? 1 : 0,
      now: Date.now(),
    })
    return this.get(id)
  }

  setEnabled(id: string, enabled: boolean): Device {
    this.get(id)
    this.#setEnabled.run({ id, enabled: enabled ? 1 : 0, now: Date.now() })
    return this.get(id)
  }

  touchLastSeen(id: string, at: number): void {
    this.#touch.run({ id, at })
  }

  /** The device, or FC_ERR_DEVICE_NOT_FOUND. */
  get(id: string): Device {
    const device = this.find(id)
    if (!device) throw notFound(id)
    return device
  }
}
