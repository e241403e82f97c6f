import BetterSqlite3 from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { appSchema } from '../config/schema.js'
import { bootstrapApps } from '../fleet/bootstrap-apps.js'
import { provisionDevice } from '../fleet/provision-device.js'
import { migrate, migrations } from './migrations.js'
import { openStore, type Store } from './open-store.js'

const app = appSchema.parse({ id: 'app-1', key: 'key-1', secret: 'secret-123' })

function storeWithApp(): Store {
  const store = openStore(':memory:')
  bootstrapApps(store, [app, { ...app, id: 'app-2', key: 'key-2' }])
  return store
}

describe('tokens', () => {
  it('stores only a digest, finds the token by its bearer string, and refuses revoked or expired ones', () => {
    const store = storeWithApp()
    const { token, bearer } = store.tokens.create({
      kind: 'viewer',
      appId: 'app-1',
      grants: ['private-device-*'],
      userId: 'ops',
    })
    expect(bearer).toMatch(/^fcv_[\w-]{43}$/)
    expect(token).toMatchObject({ kind: 'viewer', appId: 'app-1', grants: ['private-device-*'] })
    const stored = store.db.prepare('SELECT * FROM tokens').all()
    expect(JSON.stringify(stored)).not.toContain(bearer.slice(4))
    const check = store.tokens.check(bearer)
    expect(check.ok && check.token.id).toBe(token.id)
    expect(store.tokens.get(token.id).lastUsedAt).not.toBeNull()
    expect(store.tokens.check(`${bearer}x`)).toEqual({ ok: false, reason: 'unknown' })

    const expiring = store.tokens.create({
      kind: 'admin',
      appId: null,
      expiresAt: Date.now() + 1000,
    })
    expect(store.tokens.check(expiring.bearer, Date.now() + 1000)).toEqual({
      ok: false,
      reason: 'expired',
    })
    store.tokens.revoke(token.id)
    expect(store.tokens.check(bearer)).toEqual({ ok: false, reason: 'revoked' })
    expect(store.tokens.list({ kind: 'admin' }).map((t) => t.id)).toEqual([expiring.token.id])
    expect(() => store.tokens.revoke('tok_nope')).toThrow(/Token "tok_nope" does not exist/)
  })

  it('refuses a viewer token without an app at the schema level', () => {
    const store = storeWithApp()
    expect(() => store.tokens.create({ kind: 'viewer', appId: null })).toThrow(/CHECK constraint/)
  })
})

describe('claims', () => {
  it('hands out at most `uses` devices and refuses revoked, expired or used-up claims', () => {
    const store = storeWithApp()
    const { claim, secret } = store.claims.create({ appId: 'app-1', uses: 2, tags: { site: 'x' } })
    expect(secret).toMatch(/^fcc_/)
    expect(store.claims.check(secret)).toMatchObject({ ok: true, claim: { id: claim.id } })
    expect(store.claims.spend(claim.id)).toBe(true)
    expect(store.claims.spend(claim.id)).toBe(true)
    expect(store.claims.spend(claim.id)).toBe(false)
    expect(store.claims.check(secret)).toEqual({ ok: false, reason: 'used-up' })

    const other = store.claims.create({ appId: 'app-1', uses: 1, expiresAt: Date.now() + 10 })
    expect(store.claims.check(other.secret, Date.now() + 10)).toEqual({
      ok: false,
      reason: 'expired',
    })
    store.claims.revoke(other.claim.id)
    expect(store.claims.check(other.secret)).toEqual({ ok: false, reason: 'revoked' })
    expect(() => store.claims.create({ appId: 'app-1', uses: 0 })).toThrow(/uses must be/)
    expect(() => store.claims.create({ appId: 'nope', uses: 1 })).toThrow(/FOREIGN KEY/)
  })
})

describe('audit log', () => {
  it('filters by actor, action family, target and time, newest first', () => {
    const store = storeWithApp()
    store.audit.record({
      at: 1000,
      actor: 'cli',
      action: 'device.add',
      target: 'd-1',
      result: 'ok',
    })
    store.audit.record({
      at: 2000,
      actor: 'token:tok_1',
      action: 'device.revoke',
      target: 'd-1',
      result: 'ok',
    })
    store.audit.record({
      at: 3000,
      actor: 'cli',
      action: 'app.create',
      target: 'app-9',
      result: 'ok',
    })
    store.audit.record({
      at: 4000,
      actor: 'address:10.0.0.1',
      action: 'device.login',
      target: "d-1' OR 1=1 --",
      result: 'refused',
      detail: { reason: 'wrong secret' },
    })
    expect(store.audit.query({ action: 'device.' }).map((e) => e.at)).toEqual([4000, 2000, 1000])
    expect(store.audit.query({ actor: 'cli' }).map((e) => e.action)).toEqual([
      'app.create',
      'device.add',
    ])
    expect(store.audit.query({ target: 'd-1', since: 1500 }).map((e) => e.at)).toEqual([2000])
    expect(store.audit.query({ until: 2000 }).map((e) => e.at)).toEqual([1000])
    expect(store.audit.query({ limit: 1 })[0]).toMatchObject({
      target: "d-1' OR 1=1 --",
      detail: { reason: 'wrong secret' },
    })
    expect(store.audit.query({ action: "device.' OR 1=1 --" })).toEqual([])
  })

  it('takes over the failed logins recorded before migration 6', () => {
    const db = new BetterSqlite3(':memory:')
    migrate(db, migrations.slice(0, 5))
    db.prepare(
      "INSERT INTO login_failures (at, device_id, address, reason) VALUES (5, 'd-1', '10.0.0.2', 'wrong secret')",
    ).run()
    migrate(db)
    expect(db.prepare('SELECT actor, action, target, result, detail FROM audit_log').all()).toEqual(
      [
        {
          actor: 'address:10.0.0.2',
          action: 'device.login',
          target: 'd-1',
          result: 'refused',
          detail: '{"reason":"wrong secret"}',
        },
      ],
    )
  })
})

describe('device listing', () => {
  it('filters by app, tags and recorded connection, pages by id, and binds every value', () => {
    const store = storeWithApp()
    provisionDevice(store, { id: 'b-2', appId: 'app-1', tags: { site: 'lab', floor: '1' } })
    provisionDevice(store, { id: 'a-1', appId: 'app-1', tags: { site: 'lab' } })
    provisionDevice(store, { id: 'c-3', appId: 'app-2', tags: { site: "x' OR '1'='1" } })
    const ids = (filter: Parameters<Store['devices']['list']>[0]) =>
      store.devices.list(filter).map((d) => d.id)
    expect(ids({})).toEqual(['a-1', 'b-2', 'c-3'])
    expect(ids({ appId: 'app-1' })).toEqual(['a-1', 'b-2'])
    expect(ids({ tags: { site: 'lab', floor: '1' } })).toEqual(['b-2'])
    expect(ids({ tags: { site: "x' OR '1'='1" } })).toEqual(['c-3'])
    expect(ids({ tags: { "site' OR 1=1 --": 'lab' } })).toEqual([])
    expect(ids({ after: 'a-1', limit: 1 })).toEqual(['b-2'])
    store.devices.setConnected('b-2', 1234)
    expect(ids({ online: true })).toEqual(['b-2'])
    expect(ids({ online: false })).toEqual(['a-1', 'c-3'])
    store.devices.clearConnected()
    expect(ids({ online: true })).toEqual([])
  })

  it('kicks by bumping the stamp live sessions are checked against', () => {
    const store = storeWithApp()
    const { device } = provisionDevice(store, { id: 'k-1', appId: 'app-1' })
    const kicked = store.devices.kick('k-1')
    expect(kicked.updatedAt).toBeGreaterThanOrEqual(device.updatedAt)
    expect(store.devices.changedSince(kicked.updatedAt).map((d) => d.id)).toEqual(['k-1'])
    expect(() => store.devices.kick('nope')).toThrow(/does not exist/)
  })
})
