import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { verifySecret } from '../auth/secret-hash.js'
import { appSchema } from '../config/schema.js'
import { GatewayError } from '../errors/gateway-error.js'
import { bootstrapApps } from '../fleet/bootstrap-apps.js'
import { provisionDevice } from '../fleet/provision-device.js'
import { migrate, migrations } from './migrations.js'
import { openStore } from './open-store.js'

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fleetcast-store-'))
}

function failure(work: () => unknown): GatewayError {
  try {
    work()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw new Error(`expected a GatewayError, got ${String(error)}`)
  }
  throw new Error('expected a GatewayError, got none')
}

const app = appSchema.parse({ id: 'app-1', key: 'key-1', secret: 'secret-123' })

describe('migrations', () => {
  it('applies every migration once, in WAL mode, and records them', () => {
    const path = join(tempDir(), 'nested', 'fleetcast.db')
    openStore(path).close()
    const db = new BetterSqlite3(path)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version })))
    expect(migrate(db)).toEqual([])
    db.close()
    openStore(path).close()
  })

  it('refuses a store written by a newer schema', () => {
    const path = join(tempDir(), 'f.db')
    openStore(path).close()
    const db = new BetterSqlite3(path)
    db.prepare('INSERT INTO schema_migrations VALUES (999, ?, 0)').run('future')
    db.close()
    expect(() => openStore(path)).toThrow(/schema version 999, newer than this Fleetcast knows/)
  })

  it('rolls back a failing migration and names it', () => {
    const db = new BetterSqlite3(':memory:')
    const broken = [
      ...migrations,
      {
        version: (migrations.at(-1)?.version ?? 0) + 1,
        name: 'broken',
        up: (d: typeof db) => {
          d.exec('CREATE TABLE half (x)')
          d.exec('THIS IS NOT SQL')
        },
      },
    ]
    expect(() => migrate(db, broken)).toThrow(/Migration \d+ \(broken\) failed/)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined()
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({
      v: migrations.at(-1)?.version,
    })
  })
})

describe('store', () => {
  it('reports an unwritable path with the setting to change', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'file'), '')
    expect(() => openStore(join(dir, 'file', 'fleetcast.db'))).toThrow(
      expect.objectContaining({
        code: 'FC_ERR_STORE_OPEN',
        message: expect.stringMatching(
          /Cannot open the store at .*file\/fleetcast\.db \(store\.path\)/,
        ),
      }),
    )
  })

  it('upserts configured apps and creates one on a first start without apps', () => {
    const store = openStore(':memory:')
    const created = bootstrapApps(store, [])
    expect(created?.id).toMatch(/^app-[0-9a-f]{6}$/)
    expect(store.apps.findByKey(created?.key ?? '')).toEqual(created)
    expect(bootstrapApps(store, [])).toBeUndefined()
    expect(store.apps.count()).toBe(1)

    const other = openStore(':memory:')
    expect(bootstrapApps(other, [app])).toBeUndefined()
    bootstrapApps(other, [{ ...app, secret: 'rotated-secret', clientEvents: true }])
    expect(other.apps.findById('app-1')).toMatchObject({
      secret: 'rotated-secret',
      clientEvents: true,
    })
    expect(() => other.apps.upsert({ ...app, id: 'app-2' })).toThrow(/already uses/)
  })

  it('provisions a device with a hashed secret and refuses duplicates', async () => {
    const store = openStore(':memory:')
    bootstrapApps(store, [app])
    const { device, secret } = provisionDevice(store, { id: 'thermo-1', tags: { site: 'a' } })
    expect(device).toMatchObject({
      id: 'thermo-1',
      appId: 'app-1',
      enabled: true,
      tags: { site: 'a' },
    })
    const stored = store.devices.findCredentials('thermo-1')
    expect(stored?.secretHashes[0]).not.toContain(secret)
    expect(await verifySecret(secret, stored?.secretHashes[0] ?? '')).toBe(true)

    const duplicate = failure(() => provisionDevice(store, { id: 'thermo-1' }))
    expect(duplicate.code).toBe('FC_ERR_DEVICE_EXISTS')
    expect(duplicate.message).toBe('Device "thermo-1" already exists')
  })

  it('names what is wrong with a device id or app', async () => {
    const store = openStore(':memory:')
    expect(failure(() => provisionDevice(store, { id: 'x' })).code).toBe('FC_ERR_APP_NOT_FOUND')
    bootstrapApps(store, [app, { ...app, id: 'app-2', key: 'key-2' }])
    expect(failure(() => provisionDevice(store, { id: 'x' })).message).toContain('pass --app')
    expect(failure(() => provisionDevice(store, { id: 'x', appId: 'nope' })).code).toBe(
      'FC_ERR_APP_NOT_FOUND',
    )
    for (const id of ['', 'has/slash', 'plus+', '#', '-lead', 'a'.repeat(65)]) {
      const error = failure(() => provisionDevice(store, { id, appId: 'app-1' }))
      expect(error.code).toBe('FC_ERR_DEVICE_INVALID')
    }
  })
})
