import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifySecret } from '../auth/secret-hash.js'
import { appSchema } from '../config/schema.js'
import { openStore, type Store } from '../store/open-store.js'
import { upsertConfiguredApps } from './bootstrap-apps.js'
import { claimAnswer, claimDevice } from './claim-device.js'

const app = appSchema.parse({ id: 'app-claims', key: 'key-claims', secret: 'secret-claims' })
const stores: Store[] = []

afterEach(() => {
  for (const store of stores.splice(0)) store.close()
})

function storeAt(path: string): Store {
  const store = openStore(path)
  stores.push(store)
  return store
}

/** A real store file with one app. */
function newStore(): Store {
  const store = storeAt(join(mkdtempSync(join(tmpdir(), 'fleetcast-claim-')), 'claims.db'))
  upsertConfiguredApps(store, [app])
  return store
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work()
    return undefined
  } catch (error) {
    return (error as { code?: string }).code
  }
}

describe('claimDevice', () => {
  it('provisions the asked-for device with the claim app and tags, and spends one use', async () => {
    const store = newStore()
    const { claim, secret: claimSecret } = store.claims.create({
      appId: app.id,
      tags: { site: 'lab', batch: '7' },
      uses: 2,
    })
    const claimed = claimDevice(store, {
      claimSecret,
      deviceId: 'AA-BB-CC-01',
      name: 'Kitchen',
      origin: { via: 'http', address: '192.0.2.7' },
    })
    expect(claimed.device).toMatchObject({
      id: 'AA-BB-CC-01',
      appId: app.id,
      name: 'Kitchen',
      tags: { site: 'lab', batch: '7' },
    })
    expect(claimed.claimId).toBe(claim.id)
    const [hash] = store.devices.findCredentials('AA-BB-CC-01')?.secretHashes ?? []
    expect(await verifySecret(claimed.secret, hash ?? '')).toBe(true)
    expect(store.claims.get(claim.id).usesLeft).toBe(1)

    const [entry] = store.audit.query({ action: 'device.claim' })
    expect(entry).toMatchObject({
      actor: `claim:${claim.id}`,
      appId: app.id,
      target: 'AA-BB-CC-01',
      result: 'ok',
      detail: { via: 'http', address: '192.0.2.7' },
    })
    const audited = JSON.stringify(store.audit.query())
    expect(audited).not.toContain(claimSecret)
    expect(audited).not.toContain(claimed.secret)
  })

  it('generates a device id when the device does not name itself', () => {
    const store = newStore()
    const { secret } = store.claims.create({ appId: app.id, uses: 2 })
    const first = claimDevice(store, { claimSecret: secret })
    const second = claimDevice(store, { claimSecret: secret })
    expect(first.device.id).toMatch(/^dev-[0-9a-f]{12}$/)
    expect(second.device.id).not.toBe(first.device.id)
  })

  it('refuses unknown, revoked, expired and used-up claims, each audited with its code', () => {
    const store = newStore()
    const revoked = store.claims.create({ appId: app.id, uses: 5 })
    store.claims.revoke(revoked.claim.id)
    const expired = store.claims.create({ appId: app.id, uses: 5, expiresAt: Date.now() - 1 })
    const single = store.claims.create({ appId: app.id, uses: 1 })
    claimDevice(store, { claimSecret: single.secret, deviceId: 'first' })
    const origin = { via: 'mqtt', address: '198.51.100.4' } as const

    const attempts = [
      {
        secret: 'fcc_nobody-has-this',
        code: 'FC_ERR_CLAIM_UNKNOWN',
        actor: 'address:198.51.100.4',
      },
      { secret: revoked.secret, code: 'FC_ERR_CLAIM_REVOKED', actor: `claim:${revoked.claim.id}` },
      { secret: expired.secret, code: 'FC_ERR_CLAIM_EXPIRED', actor: `claim:${expired.claim.id}` },
      { secret: single.secret, code: 'FC_ERR_CLAIM_USED_UP', actor: `claim:${single.claim.id}` },
    ]
    for (const { secret, code, actor } of attempts) {
      expect(
        codeOf(() => claimDevice(store, { claimSecret: secret, deviceId: 'x1', origin })),
      ).toBe(code)
      const [entry] = store.audit.query({ action: 'device.claim' })
      expect(entry).toMatchObject({ actor, target: 'x1', result: code })
      expect(JSON.stringify(entry)).not.toContain(secret)
    }
    expect(store.devices.find('x1')).toBeUndefined()
    expect(store.claims.get(revoked.claim.id).usesLeft).toBe(5)
    expect(store.claims.get(expired.claim.id).usesLeft).toBe(5)
  })

  it('refuses an existing or invalid device id without spending a use', () => {
    const store = newStore()
    const { claim, secret } = store.claims.create({ appId: app.id, uses: 1 })
    claimDevice(store, {
      claimSecret: store.claims.create({ appId: app.id, uses: 1 }).secret,
      deviceId: 'taken',
    })

    expect(codeOf(() => claimDevice(store, { claimSecret: secret, deviceId: 'taken' }))).toBe(
      'FC_ERR_DEVICE_EXISTS',
    )
    expect(codeOf(() => claimDevice(store, { claimSecret: secret, deviceId: 'no spaces' }))).toBe(
      'FC_ERR_DEVICE_INVALID',
    )
    expect(
      codeOf(() =>
        claimDevice(store, { claimSecret: secret, deviceId: 'ok-1', name: 'bell\u0007' }),
      ),
    ).toBe('FC_ERR_DEVICE_INVALID')
    expect(store.claims.get(claim.id).usesLeft).toBe(1)
    expect(store.audit.query({ actor: `claim:${claim.id}` }).map((e) => e.result)).toEqual([
      'FC_ERR_DEVICE_INVALID',
      'FC_ERR_DEVICE_INVALID',
      'FC_ERR_DEVICE_EXISTS',
    ])
    expect(claimDevice(store, { claimSecret: secret, deviceId: 'ok-1' }).device.id).toBe('ok-1')
  })

  it('binds SQL metacharacters as values: refused ids and secrets, names stored literally', () => {
    const store = newStore()
    const { secret } = store.claims.create({ appId: app.id, uses: 3 })
    expect(
      codeOf(() => claimDevice(store, { claimSecret: "' OR 1=1 --", deviceId: 'sql-1' })),
    ).toBe('FC_ERR_CLAIM_UNKNOWN')
    expect(
      codeOf(() =>
        claimDevice(store, { claimSecret: secret, deviceId: "x'; DROP TABLE devices; --" }),
      ),
    ).toBe('FC_ERR_DEVICE_INVALID')
    const name = "Robert'); DROP TABLE devices; --"
    expect(claimDevice(store, { claimSecret: secret, deviceId: 'sql-2', name }).device.name).toBe(
      name,
    )
    expect(store.devices.list().map((d) => d.id)).toEqual(['sql-2'])
  })

  it('lets one of two store connections take the last use and refuses the other', () => {
    const store = newStore()
    const other = storeAt(store.path)
    const { claim, secret } = store.claims.create({ appId: app.id, uses: 1 })
    expect(claimDevice(other, { claimSecret: secret, deviceId: 'winner' }).device.id).toBe('winner')
    expect(codeOf(() => claimDevice(store, { claimSecret: secret, deviceId: 'loser' }))).toBe(
      'FC_ERR_CLAIM_USED_UP',
    )
    expect(store.claims.get(claim.id).usesLeft).toBe(0)
    expect(store.devices.find('loser')).toBeUndefined()
  })

  it('answers with the credentials and the topics the device may use', () => {
    const store = newStore()
    const { secret } = store.claims.create({ appId: app.id, tags: { site: 'lab' }, uses: 1 })
    const claimed = claimDevice(store, { claimSecret: secret, deviceId: 'mcu-3' })
    expect(claimAnswer(claimed)).toEqual({
      id: 'mcu-3',
      secret: claimed.secret,
      appId: app.id,
      name: null,
      tags: { site: 'lab' },
      mqtt: { username: 'mcu-3', clientId: 'mcu-3' },
      topics: {
        events: 'devices/mcu-3/events/{event}',
        commands: 'devices/mcu-3/commands/#',
        acks: 'devices/mcu-3/acks/{commandId}',
      },
    })
  })
})
