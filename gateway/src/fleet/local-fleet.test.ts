import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { appSchema } from '../config/schema.js'
import { openStore, type Store } from '../store/open-store.js'
import { upsertConfiguredApps } from './bootstrap-apps.js'
import type { NewDeviceInput } from './fleet-operations.js'
import { LocalFleet, type LocalFleetOptions } from './local-fleet.js'

const configured = appSchema.parse({ id: 'app-cfg', key: 'key-cfg', secret: 'secret-cfg' })
const stores: Store[] = []

afterEach(() => {
  for (const store of stores.splice(0)) store.close()
})

/** A real store file with one configured app, and the fleet over it. */
function fleetOn(options: Partial<LocalFleetOptions> = {}): { fleet: LocalFleet; store: Store } {
  const store = openStore(join(mkdtempSync(join(tmpdir(), 'fleetcast-fleet-')), 'fleet.db'))
  stores.push(store)
  upsertConfiguredApps(store, [configured])
  const fleet = new LocalFleet({
    store,
    configuredAppIds: [configured.id],
    actor: 'cli',
    appScope: null,
    ...options,
  })
  return { fleet, store }
}

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  return work.then(
    () => undefined,
    (error: { code?: string }) => error.code,
  )
}

describe('LocalFleet', () => {
  it('creates apps with a secret shown once, and refuses to change apps the config manages', async () => {
    const { fleet, store } = fleetOn()
    const created = await fleet.createApp({ id: 'app-new', clientEvents: true })
    expect(created).toMatchObject({
      id: 'app-new',
      enabled: true,
      clientEvents: true,
      managedByConfig: false,
      deviceCount: 0,
    })
    expect(store.apps.get('app-new').secret).toBe(created.secret)
    const rotated = await fleet.rotateAppSecret('app-new')
    expect(rotated.secret).not.toBe(created.secret)
    expect(store.apps.get('app-new').secret).toBe(rotated.secret)
    expect((await fleet.setAppEnabled('app-new', false)).enabled).toBe(false)

    expect(await codeOf(fleet.createApp({ id: 'app-new' }))).toBe('FC_ERR_APP_EXISTS')
    expect(await codeOf(fleet.createApp({ id: "x'; DROP TABLE apps;--" }))).toBe(
      'FC_ERR_APP_INVALID',
    )
    expect(await codeOf(fleet.rotateAppSecret('app-cfg'))).toBe('FC_ERR_APP_MANAGED_BY_CONFIG')
    expect(await codeOf(fleet.setAppEnabled('app-cfg', false))).toBe('FC_ERR_APP_MANAGED_BY_CONFIG')
    expect(store.apps.get('app-cfg')).toMatchObject({ secret: 'secret-cfg', enabled: true })
    expect((await fleet.listApps()).map((app) => [app.id, app.managedByConfig])).toEqual([
      ['app-cfg', true],
      ['app-new', false],
    ])
  })

  it('records every change and every refusal in the audit log, never a secret', async () => {
    const { fleet } = fleetOn()
    const device = await fleet.addDevice({ id: 'pi-1', tags: { site: 'lab' } })
    const rotated = await fleet.rotateDevice('pi-1', 60)
    const token = await fleet.createToken({ kind: 'viewer', grants: ['private-device-*'] })
    const claim = await fleet.createClaim({ uses: 2 })
    await codeOf(fleet.addDevice({ id: 'pi-1' }))
    const app = await fleet.createApp({})
    await codeOf(fleet.kickDevice('ghost'))

    const entries = await fleet.audit({})
    expect(entries.map((e) => [e.actor, e.action, e.appId, e.target, e.result])).toEqual([
      ['cli', 'device.kick', null, 'ghost', 'FC_ERR_DEVICE_NOT_FOUND'],
      ['cli', 'app.create', app.id, app.id, 'ok'],
      ['cli', 'device.add', null, 'pi-1', 'FC_ERR_DEVICE_EXISTS'],
      ['cli', 'claim.create', 'app-cfg', claim.id, 'ok'],
      ['cli', 'token.create', 'app-cfg', token.id, 'ok'],
      ['cli', 'device.rotate', 'app-cfg', 'pi-1', 'ok'],
      ['cli', 'device.add', 'app-cfg', 'pi-1', 'ok'],
    ])
    expect(entries.find((e) => e.action === 'device.rotate')?.detail).toEqual({
      overlapSeconds: 60,
    })
    const log = JSON.stringify(entries)
    for (const secret of [device.secret, rotated.secret, token.token, claim.claim, app.secret]) {
      expect(log).not.toContain(secret)
    }
  })

  it('confines an app-scoped fleet to its app', async () => {
    const { fleet: admin, store } = fleetOn()
    await admin.createApp({ id: 'app-other' })
    await admin.addDevice({ id: 'mine', appId: 'app-cfg' })
    await admin.addDevice({ id: 'theirs', appId: 'app-other' })
    const other = await admin.createToken({ kind: 'admin', appId: 'app-other' })
    const all = await admin.createToken({ kind: 'admin' })
    expect(all.appId).toBeNull()

    const scoped = new LocalFleet({
      store,
      configuredAppIds: ['app-cfg'],
      actor: 'token:tok_x',
      appScope: 'app-cfg',
    })
    expect((await scoped.listApps()).map((a) => a.id)).toEqual(['app-cfg'])
    expect((await scoped.listDevices({})).map((d) => d.id)).toEqual(['mine'])
    expect((await scoped.addDevice({ id: 'new-one' })).appId).toBe('app-cfg')
    for (const refused of [
      scoped.showApp('app-other'),
      scoped.createApp({}),
      scoped.listDevices({ appId: 'app-other' }),
      scoped.showDevice('theirs'),
      scoped.kickDevice('theirs'),
      scoped.addDevice({ id: 'x', appId: 'app-other' }),
      scoped.createToken({ kind: 'admin' }),
      scoped.createToken({ kind: 'admin', appId: 'app-other' }),
      scoped.revokeToken(other.id),
      scoped.revokeToken(all.id),
      scoped.audit({ appId: 'app-other' }),
    ]) {
      expect(await codeOf(refused)).toBe('FC_ERR_FORBIDDEN')
    }
    expect(store.devices.find('x')).toBeUndefined()
    expect(store.tokens.get(all.id).revokedAt).toBeNull()
    expect((await scoped.audit({})).every((entry) => entry.appId === 'app-cfg')).toBe(true)
    expect(await codeOf(scoped.showDevice('nobody'))).toBe('FC_ERR_DEVICE_NOT_FOUND')
  })

  it('tells the gateway about each device change so it can end the session at once', async () => {
    const changed: string[] = []
    const { fleet } = fleetOn({ onDeviceChanged: (id) => changed.push(id) })
    await fleet.addDevice({ id: 'pi-1' })
    await fleet.kickDevice('pi-1')
    await fleet.setDeviceEnabled('pi-1', false)
    await fleet.revokeDevice('pi-1')
    expect(changed).toEqual(['pi-1', 'pi-1', 'pi-1'])
    expect(await codeOf(fleet.rotateDevice('pi-1', -1))).toBe('FC_ERR_DEVICE_INVALID')
    expect(changed).toHaveLength(3)
  })

  it('validates tokens: kinds, grants, users, labels and ttl', async () => {
    const { fleet } = fleetOn()
    const viewer = await fleet.createToken({
      kind: 'viewer',
      grants: ['private-device-*', 'presence-devices', "tag:site=O'Brien; DROP TABLE tokens"],
      userId: 'ops',
      label: "Robert'); --",
      ttlSeconds: 3600,
    })
    expect(viewer).toMatchObject({ appId: 'app-cfg', userId: 'ops', label: "Robert'); --" })
    expect(viewer.expiresAt).toBeGreaterThan(Date.now() + 3_590_000)
    expect(viewer.token).toMatch(/^fcv_/)

    const refusals: [Parameters<LocalFleet['createToken']>[0], RegExp][] = [
      [{ kind: 'viewer' }, /at least one grant/],
      [{ kind: 'viewer', grants: ['private device'] }, /grants\[0\]/],
      [{ kind: 'viewer', grants: ['ok', 'tag:=x'] }, /grants\[1\].*tag:<key>=<value>/],
      [{ kind: 'viewer', grants: ['tag:si te=x'] }, /tag key "si te"/],
      [{ kind: 'admin', grants: ['x'] }, /viewer tokens only/],
      [{ kind: 'root' as 'admin' }, /kind must be admin or viewer/],
      [{ kind: 'viewer', grants: ['x'], ttlSeconds: 0 }, /ttlSeconds/],
      [{ kind: 'viewer', grants: ['x'], ttlSeconds: 1.5 }, /ttlSeconds/],
      [{ kind: 'viewer', grants: ['x'], userId: '' }, /userId/],
      [{ kind: 'viewer', grants: ['x'], label: 'a\nb' }, /label contains a control character/],
    ]
    for (const [input, message] of refusals) {
      await expect(fleet.createToken(input)).rejects.toMatchObject({
        code: 'FC_ERR_TOKEN_INVALID',
        message: expect.stringMatching(message),
      })
    }
    expect(await codeOf(fleet.createToken({ kind: 'viewer', appId: 'nope', grants: ['x'] }))).toBe(
      'FC_ERR_APP_NOT_FOUND',
    )
  })

  it('validates claims and device fields', async () => {
    const { fleet } = fleetOn()
    const claim = await fleet.createClaim({ uses: 5, ttlSeconds: 60, tags: { batch: '7' } })
    expect(claim).toMatchObject({ appId: 'app-cfg', usesLeft: 5, tags: { batch: '7' } })
    for (const input of [
      { uses: 0 },
      { uses: 1, ttlSeconds: -5 },
      { uses: 1, tags: { '': 'x' } },
    ]) {
      expect(await codeOf(fleet.createClaim(input))).toBe('FC_ERR_CLAIM_INVALID')
    }
    const badDevices: NewDeviceInput[] = [
      { id: 'd-1', name: 'x'.repeat(129) },
      { id: 'd-1', tags: { 'a=b': 'c' } },
      { id: 'd-1', tags: { ok: 'x'.repeat(257) } },
      { id: "d'1" },
    ]
    for (const input of badDevices) {
      expect(await codeOf(fleet.addDevice(input))).toBe('FC_ERR_DEVICE_INVALID')
    }
    const quoted = await fleet.addDevice({ id: 'd-2', name: "'; DELETE FROM devices; --" })
    expect(quoted.name).toBe("'; DELETE FROM devices; --")
    expect((await fleet.listDevices({})).map((d) => d.id)).toEqual(['d-2'])
  })
})
