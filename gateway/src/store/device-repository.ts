import type { Database, Statement } from 'better-sqlite3'
import type { Device } from '../domain/device.js'
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE } from '../domain/names.js'
import { GatewayError } from '../errors/gateway-error.js'

interface DeviceRow {
  id: string
  app_id: string
  name: string | null
  tags: string
  enabled: number
  secret_hash: string
  created_at: number
  last_seen_at: number | null
}

export interface NewDevice {
  id: string
  appId: string
  name?: string | undefined
  tags?: Record<string, string> | undefined
  secretHash: string
}

/** A device with its stored secret hash, for the authenticator only. */
export interface DeviceCredentials {
  device: Device
  secretHash: string
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
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
  }
}

export class DeviceRepository {
  readonly #byId: Statement<[string], DeviceRow>
  readonly #byApp: Statement<[string], DeviceRow>
  readonly #insert: Statement<[Record<string, unknown>]>

  constructor(db: Database) {
    this.#byId = db.prepare('SELECT * FROM devices WHERE id = ?')
    this.#byApp = db.prepare('SELECT * FROM devices WHERE app_id = ? ORDER BY id')
    this.#insert = db.prepare(`
      INSERT INTO devices (id, app_id, name, tags, enabled, secret_hash, created_at)
      VALUES (@id, @appId, @name, @tags, 1, @secretHash, @now)`)
  }

  find(id: string): Device | undefined {
    const row = this.#byId.get(id)
    return row && toDevice(row)
  }

  findCredentials(id: string): DeviceCredentials | undefined {
    const row = this.#byId.get(id)
    return row && { device: toDevice(row), secretHash: row.secret_hash }
  }

  listByApp(appId: string): Device[] {
    return this.#byApp.all(appId).map(toDevice)
  }

  add(input: NewDevice): Device {
    assertDeviceId(input.id)
    try {
      this.#insert.run({
        id: input.id,
        appId: input.appId,
        name: input.name ?? null,
        tags: JSON.stringify(input.tags ?? {}),
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
    const device = this.find(input.id)
    if (!device) throw new Error(`device ${input.id} vanished right after insert`)
    return device
  }
}
