import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { launchChromium } from '../../test/support/chromium.js'
import { connectAs, provision } from '../../test/support/device.js'
import {
  connected,
  createPusherClientWith,
  nextEvent,
  signedIn,
  subscribed,
} from '../../test/support/pusher.js'
import { needTool } from '../../test/support/system-tool.js'
import { startTestGateway, type TestGateway, testApp } from '../../test/support/test-gateway.js'
import type { NewToken } from '../src/store/token-repository.js'

type PusherClient = ReturnType<typeof createPusherClientWith>

function baseUrl(target: TestGateway, prefix = ''): string {
  return `http://127.0.0.1:${target.addresses.http.port}${prefix}`
}

function viewerToken(target: TestGateway, input: Partial<NewToken> = {}): string {
  return target.gateway.store.tokens.create({ kind: 'viewer', appId: testApp.id, ...input }).bearer
}

function basic(deviceId: string, secret: string): string {
  return `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`
}

/** pusher-js pointed at the gateway's own auth endpoints, with the dashboard's credentials. */
function dashboardClient(target: TestGateway, authorization: string, extra = {}): PusherClient {
  const headers = { Authorization: authorization }
  return createPusherClientWith(target.addresses.http.port, testApp, {
    channelAuthorization: {
      transport: 'ajax',
      endpoint: `${baseUrl(target)}/pusher/auth`,
      headers,
      ...extra,
    },
    userAuthentication: {
      transport: 'ajax',
      endpoint: `${baseUrl(target)}/pusher/user-auth`,
      headers,
    },
  })
}

interface SubscriptionError {
  type: string
  status: number
  error: string
}

/** Resolves with pusher-js's `pusher:subscription_error` for the channel; fails on success. */
function subscriptionError(client: PusherClient, channel: string): Promise<SubscriptionError> {
  const subscription = client.subscribe(channel)
  return new Promise((resolve, reject) => {
    subscription.bind('pusher:subscription_succeeded', () =>
      reject(new Error(`${channel} was authorized`)),
    )
    subscription.bind('pusher:subscription_error', (error: SubscriptionError) => resolve(error))
  })
}

/** A raw request to an auth endpoint, for shapes pusher-js never sends. */
async function post(
  target: TestGateway,
  path: string,
  body: string,
  headers: Record<string, string> = {},
  method = 'POST',
) {
  const response = await fetch(`${baseUrl(target)}${path}`, {
    method,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    ...(method === 'POST' ? { body } : {}),
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined,
  }
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

describe('POST /pusher/auth with a viewer token', () => {
  it('lets pusher-js subscribe to a private device channel and receive the device event', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'thermo-1')
    const client = dashboardClient(
      target,
      `Bearer ${viewerToken(target, { grants: ['private-device-*'] })}`,
    )
    await connected(client)
    await subscribed(client, 'private-device-thermo-1')

    const device = await connectAs(target, 'thermo-1', secret)
    const event = nextEvent(client, 'private-device-thermo-1', 'temperature')
    await device.publishAsync('devices/thermo-1/events/temperature', '{"celsius":21.5}', { qos: 1 })
    expect(await event).toEqual({ celsius: 21.5 })
  })

  it('joins a presence channel as the token user, with the label as user_info', async () => {
    const target = await startTestGateway()
    const bearer = viewerToken(target, {
      grants: ['presence-devices'],
      userId: 'ops-ana',
      label: 'Ana',
    })
    const client = dashboardClient(target, `Bearer ${bearer}`)
    const channel = (await subscribed(client, 'presence-devices')) as unknown as {
      members: { me: unknown; count: number }
    }
    expect(channel.members.me).toEqual({ id: 'ops-ana', info: { name: 'Ana' } })
    expect(channel.members.count).toBe(1)
  })

  it('signs in with user-auth as the token user, or as the token id without one', async () => {
    const target = await startTestGateway()
    const named = dashboardClient(
      target,
      `Bearer ${viewerToken(target, { userId: 'ops-ana', label: 'Ana' })}`,
    )
    await connected(named)
    expect(await signedIn(named)).toEqual({ id: 'ops-ana', user_info: { name: 'Ana' } })

    const created = target.gateway.store.tokens.create({ kind: 'viewer', appId: testApp.id })
    const anonymous = dashboardClient(target, `Bearer ${created.bearer}`)
    await connected(anonymous)
    expect(await signedIn(anonymous)).toEqual({ id: created.token.id })
  })

  it('answers exactly the pusher-protocol §9 vectors with the documented credentials', async () => {
    const docsApp = { id: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' }
    const target = await startTestGateway({ apps: [docsApp] })
    const bearer = target.gateway.store.tokens.create({
      kind: 'viewer',
      appId: docsApp.id,
      grants: ['private-foo*', 'presence-foobar'],
      userId: '10',
      label: 'Mr. Channels',
    }).bearer
    const headers = { authorization: `Bearer ${bearer}` }
    const privateAnswer = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1234.1234', channel_name: 'private-foobar' }),
      headers,
    )
    expect(privateAnswer).toMatchObject({
      status: 200,
      body: {
        auth: '278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4',
      },
    })
    expect(Object.keys(privateAnswer.body ?? {})).toEqual(['auth'])
    const presenceAnswer = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1234.1234', channel_name: 'presence-foobar' }),
      headers,
    )
    expect(presenceAnswer.body).toEqual({
      auth: '278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800',
      channel_data: '{"user_id":"10","user_info":{"name":"Mr. Channels"}}',
    })
  })

  it('refuses unknown, revoked and expired tokens with 401 and a Bearer challenge', async () => {
    const target = await startTestGateway()
    const { tokens } = target.gateway.store
    const revoked = tokens.create({ kind: 'viewer', appId: testApp.id, grants: ['*'] })
    tokens.revoke(revoked.token.id)
    const expired = tokens.create({
      kind: 'viewer',
      appId: testApp.id,
      grants: ['*'],
      expiresAt: Date.now() - 1000,
    })
    const body = form({ socket_id: '1.2', channel_name: 'private-device-thermo-1' })
    for (const [bearer, error] of [
      ['fcv_not-a-token', 'Unknown token'],
      [revoked.bearer, 'The token is revoked'],
      [expired.bearer, 'The token is expired'],
    ] as const) {
      const answer = await post(target, '/pusher/auth', body, { authorization: `Bearer ${bearer}` })
      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({ error })
      expect(answer.headers.get('www-authenticate')).toBe(
        'Bearer realm="fleetcast", error="invalid_token"',
      )
    }

    const client = dashboardClient(target, `Bearer ${revoked.bearer}`)
    expect(await subscriptionError(client, 'private-device-thermo-1')).toMatchObject({
      type: 'AuthError',
      status: 401,
    })
  })

  it('refuses a channel the grants do not cover with 403, and admin tokens', async () => {
    const target = await startTestGateway()
    const { token, bearer } = target.gateway.store.tokens.create({
      kind: 'viewer',
      appId: testApp.id,
      grants: ['private-device-lab-*'],
    })
    const client = dashboardClient(target, `Bearer ${bearer}`)
    await subscribed(client, 'private-device-lab-1')
    for (const channel of ['private-device-home-1', 'presence-devices', 'private-lab-1']) {
      expect(await subscriptionError(client, channel)).toMatchObject({ status: 403 })
    }
    const refused = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1.2', channel_name: 'private-device-home-1' }),
      { authorization: `Bearer ${bearer}` },
    )
    expect(refused.body).toEqual({
      error: `private-device-home-1 is not among the grants of token ${token.id} (private-device-lab-*)`,
    })

    const admin = target.gateway.store.tokens.create({ kind: 'admin', appId: null }).bearer
    const answer = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1.2', channel_name: 'private-device-lab-1' }),
      { authorization: `Bearer ${admin}` },
    )
    expect(answer.status).toBe(403)
    expect(answer.body?.error).toMatch(/admin token; channel authorization takes a viewer token/)
  })

  it('follows a device tag change at once for tag grants', async () => {
    const target = await startTestGateway()
    const { store } = target.gateway
    await provision(target, 'probe-1', { tags: { site: 'lab' } })
    await provision(target, 'probe-2', { tags: { site: 'home' } })
    const bearer = viewerToken(target, { grants: ['tag:site=lab'] })
    const ask = (channel: string) =>
      post(target, '/pusher/auth', form({ socket_id: '1.2', channel_name: channel }), {
        authorization: `Bearer ${bearer}`,
      }).then((answer) => answer.status)

    expect(await ask('private-device-probe-1')).toBe(200)
    expect(await ask('private-cache-device-probe-1')).toBe(200)
    expect(await ask('private-device-probe-2')).toBe(403)
    expect(await ask('private-device-probe-3')).toBe(403)
    expect(await ask('presence-devices')).toBe(403)

    // Tags live in the store; the endpoint reads them on each request, with no cache to expire.
    const retag = store.db.prepare('UPDATE devices SET tags = ? WHERE id = ?')
    retag.run(JSON.stringify({ site: 'lab' }), 'probe-2')
    retag.run(JSON.stringify({ site: 'home' }), 'probe-1')
    expect(await ask('private-device-probe-2')).toBe(200)
    expect(await ask('private-device-probe-1')).toBe(403)

    const client = dashboardClient(target, `Bearer ${bearer}`)
    await subscribed(client, 'private-device-probe-2')
  })

  it('refuses encrypted channels: the gateway holds no encryption master key', async () => {
    const target = await startTestGateway()
    const answer = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1.2', channel_name: 'private-encrypted-device-thermo-1' }),
      { authorization: `Bearer ${viewerToken(target, { grants: ['*'] })}` },
    )
    expect(answer.status).toBe(403)
    expect(answer.body?.error).toMatch(/encrypted channel.*your own backend/)
  })

  it('refuses tokens of a disabled app with 403', async () => {
    const disabled = { id: 'app-off', key: 'app-key-off', secret: 'app-secret-off', enabled: false }
    const target = await startTestGateway({ apps: [testApp, disabled] })
    const bearer = target.gateway.store.tokens.create({
      kind: 'viewer',
      appId: disabled.id,
      grants: ['*'],
    }).bearer
    const answer = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1.2', channel_name: 'private-x' }),
      { authorization: `Bearer ${bearer}` },
    )
    expect(answer).toMatchObject({ status: 403, body: { error: 'App app-off is disabled' } })
  })
})

describe('POST /pusher/auth with a device id and secret (HTTP Basic)', () => {
  it("grants the device's own channels only", async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'thermo-1')
    await provision(target, 'thermo-2')
    const client = dashboardClient(target, basic('thermo-1', secret))
    await subscribed(client, 'private-device-thermo-1')
    expect(await signedIn(client)).toEqual({
      id: 'thermo-1',
      user_info: { name: null, tags: {} },
    })
    for (const channel of ['private-device-thermo-2', 'presence-devices', 'private-thermo-1']) {
      expect(await subscriptionError(client, channel)).toMatchObject({ status: 403 })
    }
  })

  it('refuses a wrong secret, an unknown or revoked device with 401 and audits it', async () => {
    const target = await startTestGateway()
    const { store } = target.gateway
    const secret = await provision(target, 'thermo-1')
    const revokedSecret = await provision(target, 'thermo-2')
    store.devices.revoke('thermo-2')
    const body = form({ socket_id: '1.2', channel_name: 'private-device-thermo-1' })
    for (const authorization of [
      basic('thermo-1', `${secret}x`),
      basic('nobody', secret),
      basic('thermo-2', revokedSecret),
    ]) {
      const answer = await post(target, '/pusher/auth', body, { authorization })
      expect(answer).toMatchObject({
        status: 401,
        body: { error: 'Unknown device or wrong secret' },
      })
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm="fleetcast"/)
    }
    const audited = store.audit.query({ action: 'device.login' }).map((e) => e.target)
    expect(audited.sort()).toEqual(['nobody', 'thermo-1', 'thermo-2'])

    store.devices.setEnabled('thermo-1', false)
    const disabled = await post(target, '/pusher/auth', body, {
      authorization: basic('thermo-1', secret),
    })
    expect(disabled).toMatchObject({ status: 403, body: { error: 'Device thermo-1 is disabled' } })
  })
})

describe('auth endpoint input checks', () => {
  it('answers 400, 401, 405, 413 and 415 with a JSON error naming the problem', async () => {
    const target = await startTestGateway()
    const authorization = `Bearer ${viewerToken(target, { grants: ['*'] })}`
    const channel = (socket_id: string, channel_name: string) => form({ socket_id, channel_name })
    const good = channel('1.2', 'private-a')
    const cases: Array<{
      body: string
      status: number
      error: RegExp
      headers?: Record<string, string>
      path?: string
    }> = [
      { body: form({ channel_name: 'private-a' }), status: 400, error: /^socket_id is missing/ },
      { body: form({ socket_id: '1.2' }), status: 400, error: /^channel_name is missing/ },
      { body: '', status: 400, error: /^socket_id is missing/ },
      { body: channel('abc', 'private-a'), status: 400, error: /"abc" must look like 1234.5678/ },
      { body: channel('1.2.3', 'private-a'), status: 400, error: /socket_id "1.2.3"/ },
      { body: channel("1.2' OR '1'='1", 'private-a'), status: 400, error: /must look like/ },
      { body: `${good}&socket_id=3.4`, status: 400, error: /socket_id is given 2 times/ },
      { body: `${good}&channel_name=private-b`, status: 400, error: /channel_name is given 2/ },
      { body: channel('1.2', 'public-room'), status: 400, error: /public channel/ },
      { body: channel('1.2', '#server-to-user-1'), status: 400, error: /channel_name must be/ },
      { body: channel('1.2', 'x'.repeat(201)), status: 400, error: /channel_name must be/ },
      {
        body: channel('1.2', "private-a'; DROP TABLE devices;--"),
        status: 400,
        error: /channel_name must be/,
      },
      {
        body: '{"socket_id":"1.2","channel_name":"private-a"}',
        headers: { 'content-type': 'application/json' },
        status: 415,
        error: /Content-Type must be application\/x-www-form-urlencoded/,
      },
      { body: `${good}&pad=${'x'.repeat(9000)}`, status: 413, error: /larger than 8192 bytes/ },
      {
        path: '/pusher/user-auth',
        body: form({ socket_id: 'nope' }),
        status: 400,
        error: /"nope"/,
      },
      { body: good, headers: { authorization: '' }, status: 401, error: /header is missing/ },
      { body: good, headers: { authorization: 'Token abc' }, status: 401, error: /must be Bearer/ },
      {
        body: good,
        headers: { authorization: 'Basic %%%' },
        status: 401,
        error: /base64 of <deviceId>:<secret>/,
      },
    ]
    for (const { body, status, error, headers = {}, path = '/pusher/auth' } of cases) {
      const answer = await post(target, path, body, { authorization, ...headers })
      expect({ body: body.slice(0, 80), status: answer.status }).toEqual({
        body: body.slice(0, 80),
        status,
      })
      expect(answer.body?.error).toMatch(error)
    }
    const wrongMethod = await post(target, '/pusher/auth', '', { authorization }, 'GET')
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('POST, OPTIONS')
  })

  it('treats SQL metacharacters in tokens, device ids and channel names as plain text', async () => {
    const target = await startTestGateway()
    const { store } = target.gateway
    const secret = await provision(target, 'thermo-1')
    const authorization = `Bearer ${viewerToken(target, { grants: ['private-device-*'] })}`
    for (const attempt of [
      `Bearer x'OR'1'='1`,
      'Bearer "--;DROP/**/TABLE/**/tokens;--',
      basic("thermo-1' OR '1'='1", secret),
      basic('thermo-1', "' OR ''='"),
    ]) {
      const answer = await post(
        target,
        '/pusher/auth',
        form({ socket_id: '1.2', channel_name: 'private-device-thermo-1' }),
        { authorization: attempt },
      )
      expect(answer.status).toBe(401)
    }
    // `;` and `,` are legal in channel names: signed when the grant covers them, as text.
    const legal = await post(
      target,
      '/pusher/auth',
      form({ socket_id: '1.2', channel_name: 'private-device-a;DROP,TABLE' }),
      { authorization },
    )
    expect(legal.status).toBe(200)
    expect(store.devices.find('thermo-1')?.id).toBe('thermo-1')
    expect(store.tokens.list().length).toBe(1)
  })

  it('ignores form fields it does not know, as pusher-js `params` adds them', async () => {
    const target = await startTestGateway()
    const client = dashboardClient(
      target,
      `Bearer ${viewerToken(target, { grants: ['private-device-*'] })}`,
      { params: { csrf: "x' OR 1=1", channel: 'private-other' } },
    )
    await subscribed(client, 'private-device-thermo-1')
  })

  it('throttles repeated failures per address with 429 and counts them in metrics', async () => {
    const target = await startTestGateway({
      mqtt: { loginFailures: { limit: 3, window: 60, ban: 30, maxBan: 30 } },
    })
    const good = `Bearer ${viewerToken(target, { grants: ['*'] })}`
    const body = form({ socket_id: '1.2', channel_name: 'private-a' })
    for (let i = 0; i < 3; i += 1) {
      const answer = await post(target, '/pusher/auth', body, {
        authorization: `Bearer guess-${i}`,
      })
      expect(answer.status).toBe(401)
    }
    const banned = await post(target, '/pusher/auth', body, { authorization: good })
    expect(banned.status).toBe(429)
    expect(Number(banned.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(banned.body?.error).toMatch(/Too many failed attempts/)

    const metrics = await (await fetch(`${baseUrl(target)}/metrics`)).text()
    expect(metrics).toMatch(/^fleetcast_rejections_total\{reason="auth_endpoint_401"\} 3$/m)
    expect(metrics).toMatch(/^fleetcast_rejections_total\{reason="auth_endpoint_429"\} 1$/m)
  })

  it('does not count revoked or expired tokens as guesses', async () => {
    const target = await startTestGateway({
      mqtt: { loginFailures: { limit: 2, window: 60, ban: 30, maxBan: 30 } },
    })
    const { tokens } = target.gateway.store
    const old = tokens.create({ kind: 'viewer', appId: testApp.id, grants: ['*'] })
    tokens.revoke(old.token.id)
    const body = form({ socket_id: '1.2', channel_name: 'private-a' })
    for (let i = 0; i < 3; i += 1) {
      expect(
        (await post(target, '/pusher/auth', body, { authorization: `Bearer ${old.bearer}` }))
          .status,
      ).toBe(401)
    }
    const good = `Bearer ${viewerToken(target, { grants: ['*'] })}`
    expect((await post(target, '/pusher/auth', body, { authorization: good })).status).toBe(200)
  })

  it('is served under http.pathPrefix too', async () => {
    const target = await startTestGateway({ http: { pathPrefix: '/realtime' } })
    const answer = await post(
      target,
      '/realtime/pusher/auth',
      form({ socket_id: '1.2', channel_name: 'private-a' }),
      { authorization: `Bearer ${viewerToken(target, { grants: ['private-a'] })}` },
    )
    expect(answer.status).toBe(200)
    expect(answer.body?.auth).toMatch(new RegExp(`^${testApp.key}:[0-9a-f]{64}$`))
  })
})

describe('CORS for dashboards on another origin', () => {
  const dashboardOrigin = 'https://dash.example.com'

  it("answers preflights and echoes origins the app's allowedOrigins accepts", async () => {
    const target = await startTestGateway({
      apps: [{ ...testApp, allowedOrigins: ['https://*.example.com'] }],
    })
    const preflight = await fetch(`${baseUrl(target)}/pusher/auth`, {
      method: 'OPTIONS',
      headers: {
        origin: dashboardOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, x-csrf-token',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(dashboardOrigin)
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(
      /authorization.*x-csrf-token/,
    )

    const refusedPreflight = await fetch(`${baseUrl(target)}/pusher/auth`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    })
    expect(refusedPreflight.status).toBe(403)
    expect(refusedPreflight.headers.get('access-control-allow-origin')).toBeNull()

    const authorization = `Bearer ${viewerToken(target, { grants: ['*'] })}`
    const body = form({ socket_id: '1.2', channel_name: 'private-a' })
    const allowed = await post(target, '/pusher/auth', body, {
      authorization,
      origin: dashboardOrigin,
    })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(dashboardOrigin)
    expect(allowed.headers.get('vary')).toBe('Origin')

    const refused = await post(target, '/pusher/auth', body, {
      authorization,
      origin: 'https://evil.test',
    })
    expect(refused.status).toBe(403)
    expect(refused.body?.error).toMatch(/Origin https:\/\/evil.test is not in the allowedOrigins/)
    expect(refused.headers.get('access-control-allow-origin')).toBeNull()

    const unauthenticated = await post(target, '/pusher/auth', body, { origin: dashboardOrigin })
    expect(unauthenticated.status).toBe(401)
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe(dashboardOrigin)
  })
})

const PUSHER_BUNDLE = createRequire(import.meta.url).resolve('pusher-js/dist/web/pusher.min.js')

/**
 * The dashboard page: pusher-js from a script tag, channel auth at the gateway with a viewer
 * token, all read from the query string.
 */
const DASHBOARD_PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><script src="/pusher.min.js"></script></head>
<body>
<script>
const params = new URLSearchParams(location.search)
const gatewayPort = Number(params.get('gatewayPort'))
window.dashboard = { state: 'subscribing', received: [] }
const pusher = new Pusher(params.get('key'), {
  cluster: '',
  wsHost: '127.0.0.1',
  wsPort: gatewayPort,
  forceTLS: false,
  enabledTransports: ['ws'],
  channelAuthorization: {
    endpoint: 'http://127.0.0.1:' + gatewayPort + '/pusher/auth',
    transport: 'ajax',
    headers: { Authorization: 'Bearer ' + params.get('bearer') },
  },
})
const subscription = pusher.subscribe(params.get('channel'))
subscription.bind('pusher:subscription_succeeded', () => { window.dashboard.state = 'subscribed' })
subscription.bind('pusher:subscription_error', (error) => {
  window.dashboard.state = 'error ' + error.status
})
subscription.bind('temperature', (data) => window.dashboard.received.push(data))
</script>
</body>
</html>`

/** A static web server on loopback port 0 with the page and the pusher-js browser bundle. */
async function serveDashboard(): Promise<number> {
  const bundle = await readFile(PUSHER_BUNDLE)
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost')
    if (pathname === '/pusher.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
    } else if (pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(DASHBOARD_PAGE)
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return (server.address() as AddressInfo).port
}

type DashboardGlobals = { dashboard: { state: string; received: unknown[] } }

describe('headless Chromium: a dashboard on another origin', () => {
  it('passes the CORS preflight from an allowed origin and is blocked from others', {
    timeout: 30_000,
  }, async (context) => {
    needTool(context, 'chromium', 'chromium')
    // One server, two origins: the app allows http://localhost:{port}, not http://127.0.0.1:{port}.
    const webPort = await serveDashboard()
    const target = await startTestGateway({
      apps: [{ ...testApp, allowedOrigins: [`http://localhost:${webPort}`] }],
    })
    const secret = await provision(target, 'thermo-7')
    const query = new URLSearchParams({
      key: testApp.key,
      gatewayPort: String(target.addresses.http.port),
      bearer: viewerToken(target, { grants: ['private-device-*'] }),
      channel: 'private-device-thermo-7',
    })
    const browser = await launchChromium()

    const bearer = query.get('bearer') ?? ''
    const page = await browser.newPage()
    page.setDefaultTimeout(15_000)
    await page.goto(`http://localhost:${webPort}/?${query}`)
    const settled = await page.waitForFunction(
      () => (globalThis as unknown as DashboardGlobals).dashboard.state !== 'subscribing',
    )
    await settled.dispose()
    expect(
      await page.evaluate(() => (globalThis as unknown as DashboardGlobals).dashboard.state),
    ).toBe('subscribed')
    const device = await connectAs(target, 'thermo-7', secret)
    await device.publishAsync('devices/thermo-7/events/temperature', '{"celsius":19}', { qos: 1 })
    const arrived = await page.waitForFunction(
      () => (globalThis as unknown as DashboardGlobals).dashboard.received[0],
    )
    expect(await arrived.jsonValue()).toEqual({ celsius: 19 })

    // From an origin the app does not allow, the browser keeps the answer from the page.
    const foreign = await browser.newPage()
    await foreign.goto(`http://127.0.0.1:${webPort}/?${query}`)
    const outcome = await foreign.evaluate(
      async ({ endpoint, authorization }) => {
        try {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: {
              authorization,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: 'socket_id=1.2&channel_name=private-device-thermo-7',
          })
          return `read ${response.status}`
        } catch (error) {
          return `blocked: ${(error as Error).message}`
        }
      },
      {
        endpoint: `${baseUrl(target)}/pusher/auth`,
        authorization: `Bearer ${bearer}`,
      },
    )
    expect(outcome).toBe('blocked: Failed to fetch')
  })
})
