import { readFileSync } from 'node:fs'
import type { MqttClient } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { closed, connectAs, mqttUrl, refusalCode } from '../../test/support/device.js'
import { createPusherClient, subscribed } from '../../test/support/pusher.js'
import { pusherServer, statusOf, testBackend } from '../../test/support/pusher-server.js'
import { startTestGateway, type TestGateway, testApp } from '../../test/support/test-gateway.js'
import type { ConfigOverrides } from '../src/config/load.js'

interface Answer {
  status: number
  headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked against docs/openapi.json
  body: any
}

type Call = (method: string, path: string, body?: unknown) => Promise<Answer>

const openapi = JSON.parse(
  readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'),
) as { components: { schemas: Record<string, unknown> } }
// z.fromJSONSchema resolves local $defs only.
const defs = JSON.parse(
  JSON.stringify(openapi.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'),
) as Record<string, unknown>

/** Fails unless `value` is what docs/openapi.json says the schema `name` is. */
function expectDocumented(name: string, value: unknown): void {
  const schema = z.fromJSONSchema({ $defs: defs, $ref: `#/$defs/${name}` } as never)
  const result = schema.safeParse(value)
  expect(result.error?.issues ?? [], `${name}: ${JSON.stringify(value)}`).toEqual([])
}

function callerFor(target: TestGateway, bearer?: string, prefix = ''): Call {
  const base = `http://127.0.0.1:${target.addresses.http.port}${prefix}/admin/v1`
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    })
    return { status: response.status, headers: response.headers, body: await response.json() }
  }
}

/** A test gateway and an all-app admin token, as `fleetcast tokens create --admin` makes one. */
async function adminGateway(overrides: ConfigOverrides = {}) {
  const target = await startTestGateway(overrides)
  const { token, bearer } = target.gateway.store.tokens.create({ kind: 'admin', appId: null })
  return { target, token, bearer, call: callerFor(target, bearer) }
}

function expectRefusal(answer: Answer, status: number, code: string, message?: RegExp): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status)
  expectDocumented('Error', answer.body)
  expect(answer.body.code).toBe(code)
  if (message) expect(answer.body.error).toMatch(message)
}

describe('admin API: apps', () => {
  it('lists, creates, shows, rotates, disables and enables apps', async () => {
    const { target, call } = await adminGateway()
    const list = await call('GET', '/apps')
    expect(list.status).toBe(200)
    expectDocumented('AppList', list.body)
    expect(list.body.items).toEqual([
      {
        id: testApp.id,
        key: testApp.key,
        enabled: true,
        clientEvents: false,
        managedByConfig: true,
        deviceCount: 0,
      },
    ])

    const created = await call('POST', '/apps', { id: 'app-2', clientEvents: true })
    expect(created.status).toBe(201)
    expectDocumented('AppWithSecret', created.body)
    expect(created.body).toMatchObject({ id: 'app-2', clientEvents: true, managedByConfig: false })
    const generated = await call('POST', '/apps')
    expect(generated.status).toBe(201)
    expect(generated.body.id).toMatch(/^app-[0-9a-f]{8}$/)

    // The SDK signs with the secret it was given: the rotated one works, the old one no longer.
    const app = { id: 'app-2', key: created.body.key, secret: created.body.secret }
    expect(await statusOf(pusherServer(target, app).trigger('news', 'hello', {}))).toBe(200)
    const rotated = await call('POST', '/apps/app-2/rotate-secret')
    expect(rotated.status).toBe(200)
    expectDocumented('AppWithSecret', rotated.body)
    expect(rotated.body.secret).not.toBe(app.secret)
    expect(await statusOf(pusherServer(target, app).trigger('news', 'hello', {}))).toBe(401)
    const fresh = { ...app, secret: rotated.body.secret }
    expect(await statusOf(pusherServer(target, fresh).trigger('news', 'hello', {}))).toBe(200)

    const disabled = await call('POST', '/apps/app-2/disable', {})
    expectDocumented('AppView', disabled.body)
    expect(disabled.body.enabled).toBe(false)
    expect(await statusOf(pusherServer(target, fresh).trigger('news', 'hello', {}))).toBe(403)
    expect((await call('POST', '/apps/app-2/enable')).body.enabled).toBe(true)
    expect((await call('GET', '/apps/app-2')).body).toMatchObject({ id: 'app-2', enabled: true })
    expect(JSON.stringify((await call('GET', '/apps/app-2')).body)).not.toContain(fresh.secret)
  })

  it('refuses changes to apps the config file manages, and taken or invalid ids', async () => {
    const { target, call } = await adminGateway()
    for (const verb of ['rotate-secret', 'disable', 'enable']) {
      expectRefusal(
        await call('POST', `/apps/${testApp.id}/${verb}`),
        409,
        'FC_ERR_APP_MANAGED_BY_CONFIG',
        /apps\[\] in the config/,
      )
    }
    expect(target.gateway.store.apps.get(testApp.id).secret).toBe(testApp.secret)
    expectRefusal(await call('POST', '/apps', { id: testApp.id }), 409, 'FC_ERR_APP_EXISTS')
    expectRefusal(
      await call('POST', '/apps', { id: "x'; DROP TABLE apps; --" }),
      400,
      'FC_ERR_APP_INVALID',
    )
    expectRefusal(await call('GET', '/apps/nope'), 404, 'FC_ERR_APP_NOT_FOUND')
    expectRefusal(
      await call('POST', '/apps', { clientEvents: 'yes' }),
      400,
      'FC_ERR_REQUEST_INVALID',
      /body\.clientEvents/,
    )
    expect((await call('GET', '/apps')).body.items).toHaveLength(1)
  })
})

describe('admin API: devices', () => {
  it('adds a device whose secret logs in over MQTT, and shows and filters devices', async () => {
    const { target, call } = await adminGateway()
    const added = await call('POST', '/devices', {
      id: 'thermo-1',
      name: 'Boiler',
      tags: { site: 'lab', floor: '2' },
    })
    expect(added.status).toBe(201)
    expectDocumented('DeviceWithSecret', added.body)
    expect(added.body).toMatchObject({ id: 'thermo-1', appId: testApp.id, name: 'Boiler' })
    await call('POST', '/devices', { id: 'thermo-2', tags: { site: 'home' } })
    await call('POST', '/devices', { id: 'thermo-3', tags: { site: 'lab' } })

    const shown = await call('GET', '/devices/thermo-1')
    expectDocumented('Device', shown.body)
    expect(shown.body.connectedAt).toBeNull()
    expect(JSON.stringify(shown.body)).not.toContain(added.body.secret)

    // A dashboard on presence-devices sees the device join after the gateway recorded it.
    const dashboard = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
      callback(
        null,
        testBackend.authorizeChannel(params.socketId, params.channelName, { user_id: 'ops' }),
      ),
    )
    const presence = await subscribed(dashboard, 'presence-devices')
    const joined = new Promise((resolve) => presence.bind('pusher:member_added', resolve))
    await connectAs(target, 'thermo-1', added.body.secret)
    await joined

    const ids = async (query: string) => {
      const answer = await call('GET', `/devices${query}`)
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      expectDocumented('DeviceList', answer.body)
      return answer.body.items.map((device: { id: string }) => device.id)
    }
    expect(await ids('')).toEqual(['thermo-1', 'thermo-2', 'thermo-3'])
    expect(await ids('?tag=site=lab')).toEqual(['thermo-1', 'thermo-3'])
    expect(await ids('?tag=site=lab&tag=floor=2')).toEqual(['thermo-1'])
    expect(await ids('?online=true')).toEqual(['thermo-1'])
    expect(await ids('?online=false&app=app-1')).toEqual(['thermo-2', 'thermo-3'])
    expect(await ids('?limit=2')).toEqual(['thermo-1', 'thermo-2'])
    expect(await ids('?after=thermo-2&limit=2')).toEqual(['thermo-3'])
    expect(await ids(`?app=${encodeURIComponent("app-1' OR '1'='1")}`)).toEqual([])
  })

  it('kicks, disables, revokes and rotates: the live MQTT connection closes at once', async () => {
    const { target, call } = await adminGateway()
    const { secret } = (await call('POST', '/devices', { id: 'pi-1' })).body
    const url = mqttUrl(target)
    const login = { clientId: 'pi-1', username: 'pi-1' }

    // The admin API shares the gateway's store connection, so no other writer moves SQLite's
    // data_version: only the direct notice closes these connections.
    let client: MqttClient = await connectAs(target, 'pi-1', secret)
    let gone = closed(client)
    const kicked = await call('POST', '/devices/pi-1/kick')
    expectDocumented('Device', kicked.body)
    await gone
    client = await connectAs(target, 'pi-1', secret)

    gone = closed(client)
    expect((await call('POST', '/devices/pi-1/disable')).body.enabled).toBe(false)
    await gone
    expect(await refusalCode(url, { ...login, password: secret })).toBe(5)
    expect((await call('POST', '/devices/pi-1/enable')).body.enabled).toBe(true)

    client = await connectAs(target, 'pi-1', secret)
    gone = closed(client)
    const rotated = await call('POST', '/devices/pi-1/rotate', { overlapSeconds: 3600 })
    expectDocumented('DeviceWithSecret', rotated.body)
    await gone
    // During the overlap both secrets log in.
    await connectAs(target, 'pi-1', secret, { clean: true })
    client = await connectAs(target, 'pi-1', rotated.body.secret)

    gone = closed(client)
    const revoked = await call('POST', '/devices/pi-1/revoke')
    expect(revoked.body.revokedAt).toBeGreaterThan(0)
    await gone
    expect(await refusalCode(url, { ...login, password: rotated.body.secret })).toBe(5)
    const again = await call('POST', '/devices/pi-1/rotate')
    await connectAs(target, 'pi-1', again.body.secret)
  })

  it('refuses bad device input and names the field', async () => {
    const { target, call } = await adminGateway()
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'FC_ERR_REQUEST_INVALID', /body\.id/],
      [{ id: 7 }, 'FC_ERR_REQUEST_INVALID', /body\.id/],
      [{ id: 'a', colour: 'red' }, 'FC_ERR_REQUEST_INVALID', /colour/],
      [{ id: 'a', tags: { site: 3 } }, 'FC_ERR_REQUEST_INVALID', /body\.tags\.site/],
      [{ id: 'a', tags: ['x'] }, 'FC_ERR_REQUEST_INVALID', /body\.tags/],
      [{ id: 'a', acl: { publish: 'x' } }, 'FC_ERR_REQUEST_INVALID', /body\.acl/],
      [{ id: "a'; DROP TABLE devices; --" }, 'FC_ERR_DEVICE_INVALID', /Device id/],
      [{ id: 'a', tags: { "k'ey": 'v' } }, 'FC_ERR_DEVICE_INVALID', /tag key/],
      [{ id: 'a', acl: { publish: ['a/#/b'], subscribe: [] } }, 'FC_ERR_DEVICE_INVALID', /acl/],
      [{ id: 'a', appId: 'nope' }, 'FC_ERR_APP_NOT_FOUND', /nope/],
      ['{"id": ', 'FC_ERR_REQUEST_INVALID', /not valid JSON/],
      ['[1]', 'FC_ERR_REQUEST_INVALID', /body/],
    ]
    for (const [body, code, message] of cases) {
      expectRefusal(
        await call('POST', '/devices', body),
        code.endsWith('NOT_FOUND') ? 404 : 400,
        code,
        message,
      )
    }
    expect(target.gateway.store.devices.list()).toEqual([])

    const sly = "'; DELETE FROM devices WHERE '1'='1"
    const stored = await call('POST', '/devices', { id: 'pi-1', name: sly, tags: { site: sly } })
    expect(stored.body).toMatchObject({ name: sly, tags: { site: sly } })
    const filtered = await call('GET', `/devices?tag=${encodeURIComponent(`site=${sly}`)}`)
    expect(filtered.body.items.map((d: { id: string }) => d.id)).toEqual(['pi-1'])
    expectRefusal(await call('POST', '/devices', { id: 'pi-1' }), 409, 'FC_ERR_DEVICE_EXISTS')
    expectRefusal(
      await call('GET', `/devices/${encodeURIComponent("pi-1' OR '1'='1")}`),
      404,
      'FC_ERR_DEVICE_NOT_FOUND',
    )
    expectRefusal(await call('POST', '/devices/ghost/kick'), 404, 'FC_ERR_DEVICE_NOT_FOUND')
    expectRefusal(
      await call('POST', '/devices/pi-1/rotate', { overlapSeconds: -1 }),
      400,
      'FC_ERR_DEVICE_INVALID',
      /overlapSeconds/,
    )
    expectRefusal(
      await call('POST', '/devices/pi-1/rotate', { overlapSeconds: '60' }),
      400,
      'FC_ERR_REQUEST_INVALID',
      /body\.overlapSeconds/,
    )
    expectRefusal(
      await call('POST', '/devices/pi-1/revoke', { now: true }),
      400,
      'FC_ERR_REQUEST_INVALID',
      /now/,
    )
    for (const [query, field] of [
      ['online=yes', 'query.online'],
      ['limit=0', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['tag=site', 'query.tag'],
      ['app=a&app=b', 'query.app'],
      ['colour=red', 'colour'],
    ] as const) {
      expectRefusal(
        await call('GET', `/devices?${query}`),
        400,
        'FC_ERR_REQUEST_INVALID',
        new RegExp(field.replace('.', '\\.')),
      )
    }
  })
})

describe('admin API: tokens and claims', () => {
  it('creates, lists and revokes tokens; a revoked admin token stops working at once', async () => {
    const { token: root, call, target } = await adminGateway()
    const viewer = await call('POST', '/tokens', {
      kind: 'viewer',
      grants: ['private-device-*', 'tag:site=lab'],
      userId: 'ops',
      label: "Robert'); DROP TABLE tokens; --",
      ttlSeconds: 3600,
    })
    expect(viewer.status).toBe(201)
    expectDocumented('TokenWithBearer', viewer.body)
    expect(viewer.body).toMatchObject({ kind: 'viewer', appId: testApp.id, userId: 'ops' })
    expect(viewer.body.token).toMatch(/^fcv_/)
    expect(viewer.body.expiresAt).toBeGreaterThan(Date.now())

    const admin = await call('POST', '/tokens', { kind: 'admin', label: 'ci' })
    expect(admin.body).toMatchObject({ kind: 'admin', appId: null })
    const list = await call('GET', '/tokens')
    expectDocumented('TokenList', list.body)
    expect(list.body.items.map((t: { id: string }) => t.id)).toEqual([
      root.id,
      viewer.body.id,
      admin.body.id,
    ])
    expect(JSON.stringify(list.body)).not.toContain(viewer.body.token)
    const viewers = await call('GET', '/tokens?kind=viewer')
    expect(viewers.body.items.map((t: { label: string }) => t.label)).toEqual([
      "Robert'); DROP TABLE tokens; --",
    ])

    const second = callerFor(target, admin.body.token)
    expect((await second('GET', '/apps')).status).toBe(200)
    const revoked = await call('POST', `/tokens/${admin.body.id}/revoke`)
    expectDocumented('Token', revoked.body)
    expect(revoked.body.revokedAt).toBeGreaterThan(0)
    expectRefusal(await second('GET', '/apps'), 401, 'FC_ERR_UNAUTHORIZED', /revoked/)
    expectRefusal(await call('POST', '/tokens/tok_nope/revoke'), 404, 'FC_ERR_TOKEN_NOT_FOUND')
  })

  it('refuses malformed tokens, naming the field', async () => {
    const { call } = await adminGateway()
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'FC_ERR_REQUEST_INVALID', /body\.kind/],
      [{ kind: 'root' }, 'FC_ERR_REQUEST_INVALID', /body\.kind/],
      [{ kind: 'viewer', grants: 'private-*' }, 'FC_ERR_REQUEST_INVALID', /body\.grants/],
      [{ kind: 'viewer', ttlSeconds: '1h', grants: ['x'] }, 'FC_ERR_REQUEST_INVALID', /ttlSeconds/],
      [{ kind: 'viewer' }, 'FC_ERR_TOKEN_INVALID', /at least one grant/],
      [{ kind: 'viewer', grants: ["private-'; DROP"] }, 'FC_ERR_TOKEN_INVALID', /grants\[0\]/],
      [{ kind: 'viewer', grants: ['tag:site'] }, 'FC_ERR_TOKEN_INVALID', /tag:<key>=<value>/],
      [{ kind: 'admin', grants: ['x'] }, 'FC_ERR_TOKEN_INVALID', /viewer tokens only/],
      [{ kind: 'viewer', grants: ['x'], ttlSeconds: 0 }, 'FC_ERR_TOKEN_INVALID', /ttlSeconds/],
    ]
    for (const [body, code, message] of cases) {
      expectRefusal(await call('POST', '/tokens', body), 400, code, message)
    }
    expectRefusal(
      await call('GET', '/tokens?kind=root'),
      400,
      'FC_ERR_REQUEST_INVALID',
      /query\.kind/,
    )
  })

  it('creates, lists and revokes claims', async () => {
    const { call } = await adminGateway()
    const claim = await call('POST', '/claims', {
      uses: 3,
      ttlSeconds: 600,
      tags: { batch: "7'; --" },
      label: 'line 2',
    })
    expect(claim.status).toBe(201)
    expectDocumented('ClaimWithSecret', claim.body)
    expect(claim.body).toMatchObject({ appId: testApp.id, usesLeft: 3, tags: { batch: "7'; --" } })
    expect(claim.body.claim).toMatch(/^fcc_/)
    const list = await call('GET', `/claims?app=${testApp.id}`)
    expectDocumented('ClaimList', list.body)
    expect(list.body.items).toEqual([
      Object.fromEntries(Object.entries(claim.body).filter(([key]) => key !== 'claim')),
    ])
    const revoked = await call('POST', `/claims/${claim.body.id}/revoke`)
    expectDocumented('Claim', revoked.body)
    expect(revoked.body.revokedAt).toBeGreaterThan(0)
    expectRefusal(await call('POST', '/claims', { uses: 0 }), 400, 'FC_ERR_CLAIM_INVALID', /uses/)
    expectRefusal(await call('POST', '/claims', {}), 400, 'FC_ERR_REQUEST_INVALID', /body\.uses/)
    expectRefusal(await call('POST', '/claims/clm_nope/revoke'), 404, 'FC_ERR_CLAIM_NOT_FOUND')
  })
})

describe('admin API: authorisation and scopes', () => {
  it('answers 401 with a Bearer challenge for missing, unknown, revoked and expired tokens', async () => {
    const { target } = await adminGateway()
    const { store } = target.gateway
    const revoked = store.tokens.create({ kind: 'admin', appId: null })
    store.tokens.revoke(revoked.token.id)
    const expired = store.tokens.create({ kind: 'admin', appId: null, expiresAt: Date.now() - 1 })
    for (const [bearer, reason] of [
      [undefined, /Authorization: Bearer/],
      ["fca_' OR '1'='1", /Authorization: Bearer/],
      ["fca_';DROP/**/TABLE/**/tokens;--", /not known/],
      [revoked.bearer, /revoked/],
      [expired.bearer, /expired/],
    ] as const) {
      const answer = await callerFor(target, bearer)('GET', '/devices')
      expectRefusal(answer, 401, 'FC_ERR_UNAUTHORIZED', reason)
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="fleetcast-admin"')
    }
    // Unauthenticated callers learn nothing about routes either.
    expectRefusal(await callerFor(target)('GET', '/nowhere'), 401, 'FC_ERR_UNAUTHORIZED')
    const viewer = store.tokens.create({ kind: 'viewer', appId: testApp.id, grants: ['x'] })
    expectRefusal(
      await callerFor(target, viewer.bearer)('GET', '/apps'),
      403,
      'FC_ERR_FORBIDDEN',
      /viewer token/,
    )
  })

  it('confines an app-scoped admin token to its app', async () => {
    const { target, call } = await adminGateway()
    await call('POST', '/apps', { id: 'app-2' })
    await call('POST', '/devices', { id: 'mine', appId: testApp.id })
    await call('POST', '/devices', { id: 'theirs', appId: 'app-2' })
    const theirToken = (await call('POST', '/tokens', { kind: 'admin', appId: 'app-2' })).body
    const scopedToken = (await call('POST', '/tokens', { kind: 'admin', appId: testApp.id })).body
    const scoped = callerFor(target, scopedToken.token)

    expect((await scoped('GET', '/apps')).body.items.map((a: { id: string }) => a.id)).toEqual([
      testApp.id,
    ])
    expect((await scoped('GET', '/devices')).body.items.map((d: { id: string }) => d.id)).toEqual([
      'mine',
    ])
    expect((await scoped('POST', '/devices', { id: 'new-1' })).body.appId).toBe(testApp.id)
    expect((await scoped('GET', '/tokens')).body.items.map((t: { id: string }) => t.id)).toEqual([
      scopedToken.id,
    ])
    for (const [method, path, body] of [
      ['GET', '/apps/app-2', undefined],
      ['POST', '/apps', { id: 'app-3' }],
      ['GET', '/devices?app=app-2', undefined],
      ['GET', '/devices/theirs', undefined],
      ['POST', '/devices/theirs/kick', undefined],
      ['POST', '/devices', { id: 'sneaky', appId: 'app-2' }],
      ['POST', '/tokens', { kind: 'admin' }],
      ['POST', '/tokens', { kind: 'viewer', appId: 'app-2', grants: ['x'] }],
      ['POST', `/tokens/${theirToken.id}/revoke`, undefined],
      ['POST', '/claims', { uses: 1, appId: 'app-2' }],
      ['GET', '/audit?app=app-2', undefined],
    ] as const) {
      expectRefusal(await scoped(method, path, body), 403, 'FC_ERR_FORBIDDEN')
    }
    expect(target.gateway.store.devices.find('sneaky')).toBeUndefined()
    const audit = await scoped('GET', '/audit')
    expect(audit.body.items.length).toBeGreaterThan(0)
    expect(audit.body.items.every((e: { appId: string }) => e.appId === testApp.id)).toBe(true)
  })
})

describe('admin API: audit', () => {
  it('records who did what, refusals included, and never a secret', async () => {
    const { token, call } = await adminGateway()
    const device = (await call('POST', '/devices', { id: 'pi-1' })).body
    const rotated = (await call('POST', '/devices/pi-1/rotate', { overlapSeconds: 60 })).body
    const app = (await call('POST', '/apps', { id: 'app-2' })).body
    const appSecret = (await call('POST', '/apps/app-2/rotate-secret')).body.secret
    const viewer = (
      await call('POST', '/tokens', { kind: 'viewer', appId: 'app-2', grants: ['x'] })
    ).body
    const claim = (await call('POST', '/claims', { uses: 1, appId: 'app-2' })).body
    await call('POST', '/devices', { id: 'pi-1', appId: testApp.id })

    const audit = await call('GET', '/audit')
    expectDocumented('AuditList', audit.body)
    const actor = `token:${token.id}`
    expect(
      audit.body.items.map((e: Record<string, unknown>) => [e.actor, e.action, e.target, e.result]),
    ).toEqual([
      [actor, 'device.add', 'pi-1', 'FC_ERR_DEVICE_EXISTS'],
      [actor, 'claim.create', claim.id, 'ok'],
      [actor, 'token.create', viewer.id, 'ok'],
      [actor, 'app.rotate-secret', 'app-2', 'ok'],
      [actor, 'app.create', 'app-2', 'ok'],
      [actor, 'device.rotate', 'pi-1', 'ok'],
      [actor, 'device.add', 'pi-1', 'ok'],
    ])
    const text = JSON.stringify(audit.body)
    for (const secret of [
      device.secret,
      rotated.secret,
      app.secret,
      appSecret,
      viewer.token,
      claim.claim,
    ]) {
      expect(text).not.toContain(secret)
    }

    const only = async (query: string) =>
      (await call('GET', `/audit?${query}`)).body.items.map((e: { action: string }) => e.action)
    expect(await only('action=device.')).toEqual(['device.add', 'device.rotate', 'device.add'])
    expect(await only('app=app-2&limit=2')).toEqual(['claim.create', 'token.create'])
    expect(await only('result=FC_ERR_DEVICE_EXISTS')).toEqual(['device.add'])
    expect(await only(`target=${encodeURIComponent("pi-1' OR '1'='1")}`)).toEqual([])
    expect(await only(`since=${Date.now() + 60_000}`)).toEqual([])
    expectRefusal(
      await call('GET', '/audit?since=yesterday'),
      400,
      'FC_ERR_REQUEST_INVALID',
      /query\.since/,
    )
  })
})

describe('admin API: routing', () => {
  it('answers 404, 405 and 413 as JSON, and serves under http.pathPrefix', async () => {
    const { target, bearer, call } = await adminGateway({
      http: { pathPrefix: '/realtime' },
      rest: { maxBodyBytes: 1024 },
    })
    expectRefusal(await call('GET', '/nowhere'), 404, 'FC_ERR_ROUTE_NOT_FOUND')
    expectRefusal(
      await callerFor(target, bearer)('GET', '/../v2/apps'),
      404,
      'FC_ERR_ROUTE_NOT_FOUND',
    )
    const wrongMethod = await call('GET', '/devices/pi-1/kick')
    expectRefusal(wrongMethod, 405, 'FC_ERR_METHOD_NOT_ALLOWED')
    expect(wrongMethod.headers.get('allow')).toBe('POST')
    expectRefusal(
      await call('POST', '/devices', { id: 'pi-1', name: 'x'.repeat(2000) }),
      413,
      'FC_ERR_REQUEST_TOO_LARGE',
    )
    const prefixed = await callerFor(target, bearer, '/realtime')('GET', '/apps')
    expect(prefixed.status).toBe(200)
    expect(prefixed.headers.get('cache-control')).toBe('no-store')
  })
})
