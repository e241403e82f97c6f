import { describe, expect, it } from 'vitest'
import { closeCode, openRawPusherSocket } from '../../test/support/raw-ws.js'
import { startTestGateway } from '../../test/support/test-gateway.js'
import { hmacHex } from '../src/auth/channel-signature.js'

// pusher-protocol §9: the Pusher docs credentials and socket id behind the spec's test vectors.
const docsApp = { id: 'docs', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' }
const VECTOR_SOCKET = '1234.1234'

/** Socket ids 1234.1234, 1234.1235, ... so the first socket can use the spec's vectors. */
function vectorSocketIds(): () => string {
  let next = 1234
  return () => `1234.${next++}`
}

async function vectorGateway(
  appOverrides: Record<string, unknown> = {},
  pusher: Record<string, unknown> = {},
) {
  return startTestGateway(
    { apps: [{ ...docsApp, ...appOverrides }], pusher: { presenceGracePeriod: 0, ...pusher } },
    { nextSocketId: vectorSocketIds() },
  )
}

type Raw = Awaited<ReturnType<typeof openRawPusherSocket>>

async function open(port: number, key = docsApp.key): Promise<Raw> {
  const socket = await openRawPusherSocket(port, key)
  await socket.frames.next() // pusher:connection_established
  return socket
}

function send(socket: Raw, event: string, data: unknown, channel?: string): void {
  socket.ws.send(JSON.stringify({ event, data, ...(channel === undefined ? {} : { channel }) }))
}

function sign(socketId: string, ...parts: string[]): string {
  return `${docsApp.key}:${hmacHex(docsApp.secret, [socketId, ...parts].join(':'))}`
}

describe('golden frames: handshake and subscriptions', () => {
  it('sends connection_established with the socket id and activity timeout as a JSON string', async () => {
    const { addresses } = await vectorGateway()
    const socket = await openRawPusherSocket(addresses.http.port, docsApp.key)
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"1234.1234\\",\\"activity_timeout\\":120}"}',
    )
  })

  it('accepts the private-channel vector signature (§9)', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    const auth = `${docsApp.key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`
    send(socket, 'pusher:subscribe', { auth, channel: 'private-foobar' })
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:subscription_succeeded","channel":"private-foobar","data":"{}"}',
    )
  })

  it('accepts the presence vector and answers with the roster including the subscriber (§6.2)', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    const channelData = '{"user_id":"10","user_info":{"name":"Mr. Channels"}}'
    const auth = `${docsApp.key}:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800`
    send(socket, 'pusher:subscribe', {
      auth,
      channel: 'presence-foobar',
      channel_data: channelData,
    })
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:subscription_succeeded","channel":"presence-foobar","data":"{\\"presence\\":{\\"ids\\":[\\"10\\"],\\"hash\\":{\\"10\\":{\\"name\\":\\"Mr. Channels\\"}},\\"count\\":1}}"}',
    )
  })

  it('verifies a private subscription that carries channel_data over socket:channel:channel_data', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    const channelData = '{"user_id":"1"}'
    send(socket, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'private-x', channelData),
      channel: 'private-x',
      channel_data: channelData,
    })
    expect((await socket.frames.next()).event).toBe('pusher_internal:subscription_succeeded')
    send(socket, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'private-y'),
      channel: 'private-y',
      channel_data: channelData,
    })
    expect(await socket.frames.next()).toMatchObject({
      event: 'pusher:subscription_error',
      channel: 'private-y',
    })
  })

  it('sends member_added to others only, and member_removed when the last socket of a user goes', async () => {
    const { addresses } = await vectorGateway()
    const first = await open(addresses.http.port)
    const firstData = '{"user_id":"10"}'
    send(first, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'presence-room', firstData),
      channel: 'presence-room',
      channel_data: firstData,
    })
    await first.frames.next()
    const second = await open(addresses.http.port)
    const secondData = '{"user_id":11,"user_info":{"name":"B"}}'
    send(second, 'pusher:subscribe', {
      auth: sign('1234.1235', 'presence-room', secondData),
      channel: 'presence-room',
      channel_data: secondData,
    })
    expect(await second.frames.nextText()).toBe(
      '{"event":"pusher_internal:subscription_succeeded","channel":"presence-room","data":"{\\"presence\\":{\\"ids\\":[\\"10\\",\\"11\\"],\\"hash\\":{\\"10\\":null,\\"11\\":{\\"name\\":\\"B\\"}},\\"count\\":2}}"}',
    )
    expect(await first.frames.nextText()).toBe(
      '{"event":"pusher_internal:member_added","channel":"presence-room","data":"{\\"user_id\\":\\"11\\",\\"user_info\\":{\\"name\\":\\"B\\"}}"}',
    )
    second.ws.close()
    expect(await first.frames.nextText()).toBe(
      '{"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\\"user_id\\":\\"11\\"}"}',
    )
  })

  it('broadcasts subscription_count when the app asks for it', async () => {
    const { addresses } = await vectorGateway({ subscriptionCount: true })
    const socket = await open(addresses.http.port)
    send(socket, 'pusher:subscribe', { auth: '', channel: 'news' })
    expect((await socket.frames.next()).event).toBe('pusher_internal:subscription_succeeded')
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:subscription_count","channel":"news","data":"{\\"subscription_count\\":1}"}',
    )
    const other = await open(addresses.http.port)
    send(other, 'pusher:subscribe', { auth: '', channel: 'news' })
    expect(await socket.frames.next()).toMatchObject({ data: '{"subscription_count":2}' })
  })

  it('sends cache_miss on an empty cache channel', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    send(socket, 'pusher:subscribe', { auth: '', channel: 'cache-btc' })
    await socket.frames.next()
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher:cache_miss","channel":"cache-btc"}',
    )
  })

  it('passes encrypted-channel payloads through byte for byte', async () => {
    const { addresses, gateway } = await vectorGateway()
    const socket = await open(addresses.http.port)
    send(socket, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'private-encrypted-x'),
      channel: 'private-encrypted-x',
    })
    await socket.frames.next()
    const ciphertext =
      '{"nonce":"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ","ciphertext":"c2VjcmV0IGJ5dGVz"}'
    await gateway.channels.trigger({
      appId: docsApp.id,
      channel: 'private-encrypted-x',
      event: 'e',
      data: ciphertext,
    })
    expect(await socket.frames.nextText()).toBe(
      JSON.stringify({ event: 'e', channel: 'private-encrypted-x', data: ciphertext }),
    )
  })
})

describe('golden frames: sign-in, server-to-user and watchlist (§8)', () => {
  it('accepts the sign-in vector, then reports the watchlist in the wrapper pusher-js reads', async () => {
    const { addresses, gateway } = await vectorGateway()
    const socket = await open(addresses.http.port)
    const userData = '{"id":"12345","user_info":{"name":"Ada"},"watchlist":["2","3"]}'
    const auth = `${docsApp.key}:f0b975953a201ad748193c9176fcddb95098b3e0c8918112003649c937e6219a`
    send(socket, 'pusher:signin', { auth, user_data: userData })
    expect(await socket.frames.nextText()).toBe(
      JSON.stringify({
        event: 'pusher:signin_success',
        data: JSON.stringify({ user_data: userData }),
      }),
    )
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:watchlist_events","data":"{\\"events\\":[{\\"name\\":\\"offline\\",\\"user_ids\\":[\\"2\\",\\"3\\"]}]}"}',
    )

    const watched = await open(addresses.http.port)
    const watchedData = '{"id":"2"}'
    send(watched, 'pusher:signin', {
      auth: sign('1234.1235', '', 'user', '', watchedData),
      user_data: watchedData,
    })
    expect((await watched.frames.next()).event).toBe('pusher:signin_success')
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:watchlist_events","data":"{\\"events\\":[{\\"name\\":\\"online\\",\\"user_ids\\":[\\"2\\"]}]}"}',
    )
    watched.ws.close()
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:watchlist_events","data":"{\\"events\\":[{\\"name\\":\\"offline\\",\\"user_ids\\":[\\"2\\"]}]}"}',
    )

    send(socket, 'pusher:subscribe', { auth: '', channel: '#server-to-user-12345' })
    expect(await socket.frames.nextText()).toBe(
      '{"event":"pusher_internal:subscription_succeeded","channel":"#server-to-user-12345","data":"{}"}',
    )
    await gateway.channels.trigger({
      appId: docsApp.id,
      channel: '#server-to-user-12345',
      event: 'ping',
      data: '{}',
    })
    expect(await socket.frames.nextText()).toBe(
      '{"event":"ping","channel":"#server-to-user-12345","data":"{}"}',
    )
  })

  it('joins presence as the signed-in user when channel_data is absent (§6.2)', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    const userData = '{"id":"7","user_info":{"name":"G"}}'
    send(socket, 'pusher:signin', {
      auth: sign(VECTOR_SOCKET, '', 'user', '', userData),
      user_data: userData,
    })
    await socket.frames.next()
    send(socket, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'presence-r'),
      channel: 'presence-r',
    })
    expect(await socket.frames.next()).toEqual({
      event: 'pusher_internal:subscription_succeeded',
      channel: 'presence-r',
      data: '{"presence":{"ids":["7"],"hash":{"7":{"name":"G"}},"count":1}}',
    })
  })

  it('refuses #server-to-user-{id} to a socket not signed in as {id}', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    send(socket, 'pusher:subscribe', { auth: '', channel: '#server-to-user-9' })
    expect(await socket.frames.next()).toEqual({
      event: 'pusher:subscription_error',
      channel: '#server-to-user-9',
      data: '{"type":"AuthError","error":"Sign in as 9 to subscribe to #server-to-user-9","status":403}',
    })
  })

  it('closes with 4009 on an invalid sign-in', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    const closed = closeCode(socket.ws)
    send(socket, 'pusher:signin', { auth: `${docsApp.key}:00`, user_data: '{"id":"1"}' })
    expect(await socket.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4009, message: 'Invalid signature for pusher:signin' },
    })
    expect((await closed).code).toBe(4009)
  })

  it('closes with 4009 a socket that does not sign in within the app timeout', async () => {
    const { addresses } = await vectorGateway({ userAuthenticationTimeout: 1 })
    const socket = await open(addresses.http.port)
    const closed = closeCode(socket.ws)
    expect(await socket.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4009, message: 'Connection not authorized within timeout' },
    })
    expect((await closed).code).toBe(4009)
  })
})

describe('golden frames: client events (§6.4)', () => {
  it('forwards a presence client event unchanged, with user_id, to everyone but the sender', async () => {
    const { addresses } = await vectorGateway({ clientEvents: true })
    const first = await open(addresses.http.port)
    const second = await open(addresses.http.port)
    for (const [socket, id, user] of [
      [first, VECTOR_SOCKET, '1'],
      [second, '1234.1235', '2'],
    ] as const) {
      const data = `{"user_id":"${user}"}`
      send(socket, 'pusher:subscribe', {
        auth: sign(id, 'presence-c', data),
        channel: 'presence-c',
        channel_data: data,
      })
      await socket.frames.next()
    }
    await first.frames.next() // member_added for user 2
    send(second, 'client-typing', { on: true }, 'presence-c')
    expect(await first.frames.nextText()).toBe(
      '{"event":"client-typing","channel":"presence-c","data":{"on":true},"user_id":"2"}',
    )
    // Not echoed: the sender's next frame is the pong to a later ping.
    send(second, 'pusher:ping', {})
    expect(await second.frames.nextText()).toBe('{"event":"pusher:pong","data":"{}"}')
  })

  it('rejects client events with 4301 frames and keeps the socket open', async () => {
    const { addresses } = await vectorGateway(
      { clientEvents: true },
      { clientEventsPerSecond: 3, maxEventBytes: 256 },
    )
    const socket = await open(addresses.http.port)
    send(socket, 'pusher:subscribe', { auth: '', channel: 'news' })
    send(socket, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'private-encrypted-e'),
      channel: 'private-encrypted-e',
    })
    send(socket, 'pusher:subscribe', {
      auth: sign(VECTOR_SOCKET, 'private-p'),
      channel: 'private-p',
    })
    for (let i = 0; i < 3; i++) await socket.frames.next()
    const cases: Array<[unknown, string | undefined, string]> = [
      [{}, 'news', 'Client events are only allowed on private and presence channels, not news'],
      [
        {},
        'private-encrypted-e',
        'Client events are only allowed on private and presence channels, not private-encrypted-e',
      ],
      [{}, 'private-other', 'Subscribe to private-other before sending client events on it'],
      [{}, undefined, 'Client events need a channel'],
      [{ pad: 'x'.repeat(300) }, 'private-p', 'Client event data is larger than 256 bytes'],
    ]
    for (const [data, channel, message] of cases) {
      send(socket, 'client-x', data, channel)
      expect(await socket.frames.next()).toEqual({
        event: 'pusher:error',
        data: { code: 4301, message },
      })
    }
    socket.ws.send(
      JSON.stringify({ event: `client-${'n'.repeat(200)}`, channel: 'private-p', data: {} }),
    )
    expect(await socket.frames.next()).toMatchObject({ data: { code: 4301 } })
    // A flood: three pass within the second, the rest are refused, the socket stays open.
    for (let i = 0; i < 10; i++) send(socket, 'client-x', { i }, 'private-p')
    const replies = await Promise.all(Array.from({ length: 7 }, () => socket.frames.next()))
    for (const reply of replies) {
      expect(reply).toEqual({
        event: 'pusher:error',
        data: { code: 4301, message: 'Client event rejected due to rate limit' },
      })
    }
    send(socket, 'pusher:ping', {})
    expect((await socket.frames.next()).event).toBe('pusher:pong')
  })

  it('rejects client events when the app has not enabled them', async () => {
    const { addresses } = await vectorGateway()
    const socket = await open(addresses.http.port)
    send(socket, 'client-x', {}, 'private-p')
    expect(await socket.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4301, message: 'Client events are not enabled for this app' },
    })
  })
})

describe('golden frames: refusals at connect (§1, §4)', () => {
  it.each([
    ['protocol=abc', 4006, 'Invalid version string format'],
    ['protocol=4', 4007, 'Unsupported protocol version 4'],
    ['protocol=8', 4007, 'Unsupported protocol version 8'],
  ])('refuses %s with %i', async (query, code, message) => {
    const { addresses } = await vectorGateway()
    const socket = await openRawPusherSocket(addresses.http.port, docsApp.key, { query })
    const closed = closeCode(socket.ws)
    expect(await socket.frames.next()).toEqual({ event: 'pusher:error', data: { code, message } })
    expect((await closed).code).toBe(code)
  })

  it('accepts protocol 5-7, a missing protocol and unknown query parameters', async () => {
    const { addresses } = await vectorGateway()
    for (const query of [
      'protocol=5',
      'protocol=6',
      '',
      'client=java&version=2.0.0&flash=false&x=1',
    ]) {
      const socket = await openRawPusherSocket(addresses.http.port, docsApp.key, { query })
      expect((await socket.frames.next()).event, query).toBe('pusher:connection_established')
    }
  })

  it('refuses a browser origin outside the allowlist with 4009', async () => {
    const { addresses } = await vectorGateway({ allowedOrigins: ['https://*.example.com'] })
    const allowed = await openRawPusherSocket(addresses.http.port, docsApp.key, {
      origin: 'https://dash.example.com',
    })
    expect((await allowed.frames.next()).event).toBe('pusher:connection_established')
    const refused = await openRawPusherSocket(addresses.http.port, docsApp.key, {
      origin: 'https://evil.test',
    })
    const closed = closeCode(refused.ws)
    expect(await refused.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4009, message: 'Origin not allowed' },
    })
    expect((await closed).code).toBe(4009)
  })

  it('refuses connections past the app quota with 4004 and admits again after one leaves', async () => {
    const { addresses } = await vectorGateway({ maxConnections: 1 })
    const first = await open(addresses.http.port)
    const second = await openRawPusherSocket(addresses.http.port, docsApp.key)
    const closed = closeCode(second.ws)
    expect(await second.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4004, message: 'Application is over connection quota' },
    })
    expect((await closed).code).toBe(4004)
    const firstClosed = closeCode(first.ws)
    first.ws.close()
    await firstClosed
    // The server may see the close a moment after the client; retry on 4004 until admitted.
    for (;;) {
      const third = await openRawPusherSocket(addresses.http.port, docsApp.key)
      if ((await third.frames.next()).event === 'pusher:connection_established') break
    }
  })

  it('serves the edge behind the configured path prefix', async () => {
    const { addresses } = await startTestGateway({
      apps: [docsApp],
      http: { pathPrefix: '/realtime' },
    })
    const socket = await openRawPusherSocket(addresses.http.port, docsApp.key, {
      prefix: '/realtime',
    })
    expect((await socket.frames.next()).event).toBe('pusher:connection_established')
    const health = await fetch(`http://127.0.0.1:${addresses.http.port}/realtime/healthz`)
    expect(health.status).toBe(200)
  })
})

describe('liveness (§7)', () => {
  it('pings a silent socket and closes it with 4201 when it stays silent', async () => {
    const { addresses } = await vectorGateway({}, { activityTimeout: 1, pongTimeout: 1 })
    const socket = await open(addresses.http.port)
    const closed = closeCode(socket.ws)
    expect(await socket.frames.nextText()).toBe('{"event":"pusher:ping","data":"{}"}')
    expect(await socket.frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4201, message: 'Pong reply not received' },
    })
    expect((await closed).code).toBe(4201)
  })

  it('keeps a socket that answers with pusher:pong', async () => {
    const { addresses } = await vectorGateway({}, { activityTimeout: 1, pongTimeout: 1 })
    const answering = await open(addresses.http.port)
    const silent = await open(addresses.http.port)
    answering.ws.on('message', (data) => {
      if (data.toString().includes('"pusher:ping"')) send(answering, 'pusher:pong', {})
    })
    const silentClosed = closeCode(silent.ws)
    expect((await silentClosed).code).toBe(4201)
    expect(answering.ws.readyState).toBe(answering.ws.OPEN)
  })
})
