import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  connected,
  createPusherClient,
  nextEvent,
  signLocally,
  subscribed,
} from '../../test/support/pusher.js'
import { pusherServer, statusOf } from '../../test/support/pusher-server.js'
import { closeCode, openRawPusherSocket } from '../../test/support/raw-ws.js'
import { startTestGateway, type TestGateway, testApp } from '../../test/support/test-gateway.js'

/** A REST request signed by hand (pusher-protocol §11.1), for shapes the node SDK never sends. */
async function signedRequest(
  target: TestGateway,
  method: 'GET' | 'POST',
  path: string,
  options: {
    body?: string
    params?: Record<string, string>
    timestamp?: number
    secret?: string
    prefix?: string
    encode?: boolean
  } = {},
) {
  const body = options.body ?? ''
  const params: Record<string, string> = {
    auth_key: testApp.key,
    auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...(body ? { body_md5: createHash('md5').update(body).digest('hex') } : {}),
    ...options.params,
  }
  const sorted = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&')
  const signature = createHmac('sha256', options.secret ?? testApp.secret)
    .update(`${method}\n${path}\n${sorted}`)
    .digest('hex')
  const encode = options.encode
    ? (v: string) =>
        encodeURIComponent(v).replace(
          /[-_.]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
        )
    : (v: string) => v
  const query = [...Object.entries(params), ['auth_signature', signature]]
    .map(([k, v]) => `${k}=${encode(v ?? '')}`)
    .join('&')
  const response = await fetch(
    `http://127.0.0.1:${target.addresses.http.port}${options.prefix ?? ''}${path}?${query}`,
    {
      method,
      ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
    },
  )
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  }
}

describe('REST API with the pusher SDK (§16)', () => {
  it('triggers to one channel and to several, reaching pusher-js subscribers', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-orders.7')
    await subscribed(browser, 'news')
    const single = nextEvent(browser, 'private-orders.7', 'App\\Events\\OrderShipped')
    await server.trigger('private-orders.7', 'App\\Events\\OrderShipped', { id: 7 })
    expect(await single).toEqual({ id: 7 })

    const channels = Array.from({ length: 100 }, (_, i) => `bulk-${i}`)
    channels[99] = 'news'
    const many = nextEvent(browser, 'news', 'hello')
    expect((await server.trigger(channels, 'hello', 'plain text')).status).toBe(200)
    expect(await many).toBe('plain text')
  })

  it('excludes the socket named by socket_id', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    const sender = await openRawPusherSocket(target.addresses.http.port, testApp.key)
    const { socket_id } = JSON.parse((await sender.frames.next()).data as string) as {
      socket_id: string
    }
    sender.ws.send(
      JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'news', auth: '' } }),
    )
    await sender.frames.next()
    const other = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(other, 'news')
    const arrived = nextEvent(other, 'news', 'e')
    await server.trigger('news', 'e', { n: 1 }, { socket_id })
    expect(await arrived).toEqual({ n: 1 })
    sender.ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }))
    expect((await sender.frames.next()).event).toBe('pusher:pong')
  })

  it('answers info on trigger and on batch, index-aligned', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    const browser = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
      callback(
        null,
        server.authorizeChannel(params.socketId, params.channelName, {
          user_id: 'u1',
          user_info: { n: 1 },
        }),
      ),
    )
    await subscribed(browser, 'presence-room')
    await subscribed(browser, 'news')
    const response = await server.trigger(
      ['presence-room', 'news', 'empty'],
      'e',
      {},
      { info: 'user_count,subscription_count' },
    )
    expect(await response.json()).toEqual({
      channels: {
        'presence-room': { user_count: 1 },
        news: { subscription_count: 1 },
        empty: { subscription_count: 0 },
      },
    })
    const batch = await server.triggerBatch([
      { channel: 'news', name: 'a', data: '1', info: 'subscription_count' },
      { channel: 'news', name: 'b', data: '2' },
      { channel: 'presence-room', name: 'c', data: '3', info: 'user_count' },
    ])
    expect(await batch.json()).toEqual({
      batch: [{ subscription_count: 1 }, {}, { user_count: 1 }],
    })
    expect(
      await (await server.triggerBatch([{ channel: 'news', name: 'a', data: '1' }])).json(),
    ).toEqual({})
  })

  it('lists channels, describes one, lists presence users', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    const browser = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
      callback(
        null,
        server.authorizeChannel(params.socketId, params.channelName, { user_id: '42' }),
      ),
    )
    await subscribed(browser, 'presence-lobby')
    await subscribed(browser, 'news')
    const all = await (await server.get({ path: '/channels' })).json()
    expect(all).toEqual({ channels: { 'presence-lobby': {}, news: {} } })
    const presence = await server.get({
      path: '/channels',
      params: { filter_by_prefix: 'presence-', info: 'user_count' },
    })
    expect(await presence.json()).toEqual({ channels: { 'presence-lobby': { user_count: 1 } } })
    expect(await statusOf(server.get({ path: '/channels', params: { info: 'user_count' } }))).toBe(
      400,
    )

    expect(
      await (
        await server.get({ path: '/channels/news', params: { info: 'subscription_count' } })
      ).json(),
    ).toEqual({
      occupied: true,
      subscription_count: 1,
    })
    expect(await (await server.get({ path: '/channels/quiet' })).json()).toEqual({
      occupied: false,
    })
    expect(
      await (
        await server.get({ path: '/channels/presence-lobby', params: { info: 'user_count' } })
      ).json(),
    ).toEqual({
      occupied: true,
      user_count: 1,
    })
    expect(
      await statusOf(server.get({ path: '/channels/news', params: { info: 'user_count' } })),
    ).toBe(400)
    expect(await (await server.get({ path: '/channels/presence-lobby/users' })).json()).toEqual({
      users: [{ id: '42' }],
    })
    expect(await statusOf(server.get({ path: '/channels/news/users' }))).toBe(400)
  })

  it('stores cache channel events and reports them with info=cache', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    await server.trigger('cache-price', 'tick', { v: 3 })
    const described = (await (
      await server.get({ path: '/channels/cache-price', params: { info: 'cache' } })
    ).json()) as {
      cache: { data: string; ttl: number }
    }
    expect(described.cache.data).toBe('{"v":3}')
    expect(described.cache.ttl).toBeGreaterThan(1700)
    const browser = createPusherClient(target.addresses.http.port, testApp)
    browser.subscribe('cache-price')
    const replay = nextEvent(browser, 'cache-price', 'tick')
    expect(await replay).toEqual({ v: 3 })
    expect(await statusOf(server.get({ path: '/channels/news', params: { info: 'cache' } }))).toBe(
      400,
    )
  })

  it('sends to a user and terminates its connections', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    const socket = await openRawPusherSocket(target.addresses.http.port, testApp.key)
    const { socket_id } = JSON.parse((await socket.frames.next()).data as string) as {
      socket_id: string
    }
    const { auth, user_data } = server.authenticateUser(socket_id, { id: 'ada' })
    socket.ws.send(JSON.stringify({ event: 'pusher:signin', data: { auth, user_data } }))
    expect((await socket.frames.next()).event).toBe('pusher:signin_success')
    await server.sendToUser('ada', 'note', { hi: 1 })
    expect(await socket.frames.next()).toEqual({
      event: 'note',
      channel: '#server-to-user-ada',
      data: '{"hi":1}',
    })
    const closed = closeCode(socket.ws)
    await server.terminateUserConnections('ada')
    expect(await socket.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4009, message: 'You got disconnected by the app.' },
    })
    expect((await closed).code).toBe(4009)
  })

  it('delivers encrypted events that pusher-js decrypts, passing the ciphertext through', async () => {
    const target = await startTestGateway()
    const encryptionMasterKeyBase64 = Buffer.alloc(32, 7).toString('base64')
    const server = pusherServer(target, testApp, { encryptionMasterKeyBase64 })
    const browser = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
      callback(null, server.authorizeChannel(params.socketId, params.channelName)),
    )
    await connected(browser)
    await subscribed(browser, 'private-encrypted-vault')
    const arrived = nextEvent(browser, 'private-encrypted-vault', 'secret')
    await server.trigger('private-encrypted-vault', 'secret', { pin: 1234 })
    expect(await arrived).toEqual({ pin: 1234 })
    expect(
      await statusOf(
        server.post({
          path: '/events',
          body: JSON.stringify({
            name: 'e',
            data: '{}',
            channels: ['private-encrypted-vault', 'news'],
          }),
        }),
      ),
    ).toBe(400)
  })
})

describe('REST API refusals (§11.3)', () => {
  it('answers bad requests with 400 and a JSON error', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    const post = (body: unknown) => server.post({ path: '/events', body: JSON.stringify(body) })
    expect(await statusOf(post({ name: 'e', data: '{}' }))).toBe(400)
    expect(await statusOf(post({ name: 'e', data: '{}', channel: 'a', channels: ['b'] }))).toBe(400)
    expect(await statusOf(post({ name: 'e', data: { not: 'a string' }, channel: 'a' }))).toBe(400)
    expect(await statusOf(post({ name: '', data: '{}', channel: 'a' }))).toBe(400)
    expect(await statusOf(post({ name: 'e', data: '{}', channel: 'bad/name' }))).toBe(400)
    expect(await statusOf(post({ name: 'e', data: '{}', channel: 'a', socket_id: 'abc' }))).toBe(
      400,
    )
    expect(
      await statusOf(
        post({ name: 'e', data: '{}', channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }),
      ),
    ).toBe(400)
    const batch = Array.from({ length: 11 }, () => ({ name: 'e', data: '{}', channel: 'a' }))
    expect(
      await statusOf(server.post({ path: '/batch_events', body: JSON.stringify({ batch }) })),
    ).toBe(400)
    const raw = await signedRequest(target, 'POST', `/apps/${testApp.id}/events`, {
      body: '{not json',
    })
    expect(raw).toMatchObject({ status: 400, body: { error: 'Request body is not valid JSON' } })
  })

  it('answers 413 for data one byte over 10 KB', async () => {
    const target = await startTestGateway()
    const server = pusherServer(target, testApp)
    expect(await statusOf(server.trigger('a', 'e', 'x'.repeat(10 * 1024)))).toBe(200)
    expect(await statusOf(server.trigger('a', 'e', 'x'.repeat(10 * 1024 + 1)))).toBe(413)
  })

  it('answers 401 for a wrong secret, a stale timestamp, a wrong body_md5 and a wrong key; 404 for an unknown app', async () => {
    const target = await startTestGateway()
    const wrongSecret = pusherServer(target, { ...testApp, secret: 'not-the-secret' })
    expect(await statusOf(wrongSecret.trigger('a', 'e', {}))).toBe(401)
    const path = `/apps/${testApp.id}/channels`
    const stale = await signedRequest(target, 'GET', path, {
      timestamp: Math.floor(Date.now() / 1000) - 601,
    })
    expect(stale.status).toBe(401)
    expect(stale.body.error).toMatch(/auth_timestamp/)
    expect((await signedRequest(target, 'GET', path)).status).toBe(200)
    const body = '{"name":"e","data":"{}","channel":"a"}'
    const tampered = await signedRequest(target, 'POST', `/apps/${testApp.id}/events`, {
      body,
      params: { body_md5: createHash('md5').update('other').digest('hex') },
    })
    expect(tampered).toMatchObject({
      status: 401,
      body: { error: 'body_md5 does not match the body' },
    })
    const wrongKey = pusherServer(target, { ...testApp, key: 'other-key' })
    expect(await statusOf(wrongKey.trigger('a', 'e', {}))).toBe(401)
    const unknown = pusherServer(target, { ...testApp, id: 'no-such-app' })
    expect(await statusOf(unknown.trigger('a', 'e', {}))).toBe(404)
  })

  it('accepts the §11.1 worked vectors sent as raw HTTP, byte for byte', async () => {
    const docs = { id: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' }
    // The vectors are from 2012: the timestamp window has to be off to replay them.
    const target = await startTestGateway({ apps: [docs], rest: { timestampWindow: 0 } })
    const base = `http://127.0.0.1:${target.addresses.http.port}`
    const post = await fetch(
      `${base}/apps/3/events?auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c`,
      {
        method: 'POST',
        body: '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}',
      },
    )
    expect(post.status).toBe(200)
    expect(await post.json()).toEqual({})
    const get = await fetch(
      `${base}/apps/3/channels?auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&auth_signature=16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291`,
    )
    expect(get.status).toBe(200)
    expect(await get.json()).toEqual({ channels: {} })
  })

  it('answers 405 for a wrong method, 404 for an unknown path and 413 for an oversize body', async () => {
    const target = await startTestGateway({ rest: { maxBodyBytes: 2048 } })
    const wrongMethod = await signedRequest(target, 'GET', `/apps/${testApp.id}/events`)
    expect(wrongMethod).toMatchObject({ status: 405, body: { error: '/events takes POST' } })
    expect((await signedRequest(target, 'GET', `/apps/${testApp.id}/nowhere`)).status).toBe(404)
    const big = JSON.stringify({ name: 'e', data: 'x'.repeat(3000), channel: 'a' })
    const oversize = await signedRequest(target, 'POST', `/apps/${testApp.id}/events`, {
      body: big,
    })
    expect(oversize).toMatchObject({
      status: 413,
      body: { error: 'Request body is larger than 2048 bytes' },
    })
  })

  it('verifies PHP-style requests: URL-encoded values behind a path prefix', async () => {
    const target = await startTestGateway({ http: { pathPrefix: '/realtime' } })
    const response = await signedRequest(target, 'GET', `/apps/${testApp.id}/channels`, {
      params: { filter_by_prefix: 'presence-', info: 'user_count' },
      prefix: '/realtime',
      encode: true,
    })
    expect(response).toMatchObject({ status: 200, body: { channels: {} } })
  })

  it('refuses a disabled app with 403', async () => {
    const target = await startTestGateway({ apps: [{ ...testApp, enabled: false }] })
    expect(await statusOf(pusherServer(target, testApp).trigger('a', 'e', {}))).toBe(403)
  })

  it('answers 429 with Retry-After past the per-second budgets', async () => {
    type Call = (target: TestGateway) => ReturnType<typeof signedRequest>
    // Budgets are per clock second: a burst that straddles a second boundary is retried on a fresh
    // gateway, so no earlier attempt has spent part of the budget.
    const burst = async (calls: Call[]) => {
      for (;;) {
        const target = await startTestGateway({
          apps: [{ ...testApp, maxBackendEventsPerSecond: 2, maxReadRequestsPerSecond: 1 }],
        })
        const before = Math.floor(Date.now() / 1000)
        const responses = []
        for (const call of calls) responses.push(await call(target))
        if (Math.floor(Date.now() / 1000) === before) return responses
        await target.gateway.close()
      }
    }
    const trigger =
      (body: string): Call =>
      (target) =>
        signedRequest(target, 'POST', `/apps/${testApp.id}/events`, { body })
    const read: Call = (target) => signedRequest(target, 'GET', `/apps/${testApp.id}/channels`)
    const events = await burst([
      trigger('{"name":"e","data":"{}","channels":["a","b"]}'),
      trigger('{"name":"e","data":"{}","channel":"a"}'),
    ])
    expect(events.map((s) => s.status)).toEqual([200, 429])
    expect(events[1]?.headers.get('retry-after')).toBe('1')
    expect(events[1]?.body).toEqual({ error: 'Too many requests.' })
    expect((await burst([read, read])).map((r) => r.status)).toEqual([200, 429])
  })

  it('answers 403 once the daily message quota is spent', async () => {
    const target = await startTestGateway({ apps: [{ ...testApp, maxMessagesPerDay: 3 }] })
    const server = pusherServer(target, testApp)
    expect(await statusOf(server.trigger(['a', 'b'], 'e', {}))).toBe(200)
    expect(await statusOf(server.trigger(['a', 'b'], 'e', {}))).toBe(403)
    expect(await statusOf(server.trigger('a', 'e', {}))).toBe(200)
    const spent = await signedRequest(target, 'POST', `/apps/${testApp.id}/events`, {
      body: '{"name":"e","data":"{}","channel":"a"}',
    })
    expect(spent).toMatchObject({
      status: 403,
      body: { error: 'App app-1 has used its daily quota of 3 messages' },
    })
  })
})

describe('health, readiness and metrics', () => {
  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    const target = await startTestGateway()
    const base = `http://127.0.0.1:${target.addresses.http.port}`
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
    const browser = createPusherClient(target.addresses.http.port, testApp, signLocally(testApp))
    await subscribed(browser, 'news')
    await pusherServer(target, testApp).trigger('news', 'e', {})
    await statusOf(
      pusherServer(target, { ...testApp, secret: 'wrong-secret' }).trigger('news', 'e', {}),
    )
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^fleetcast_connections\{edge="pusher"\} 1$/m)
    expect(metrics).toMatch(/^fleetcast_subscriptions 1$/m)
    expect(metrics).toMatch(/^fleetcast_messages_in_total\{edge="rest"\} 1$/m)
    expect(metrics).toMatch(/^fleetcast_messages_out_total\{edge="pusher"\} 1$/m)
    expect(metrics).toMatch(/^fleetcast_rejections_total\{reason="http_401"\} 1$/m)
    expect(metrics).toMatch(/^fleetcast_webhook_queue_depth 0$/m)
    expect(metrics).toMatch(/^fleetcast_nodejs_eventloop_lag_seconds /m)
  })
})
