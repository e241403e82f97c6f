import { describe, expect, it } from 'vitest'
import { connectDevice } from '../../test/support/device.js'
import {
  connected,
  createPusherClient,
  nextEvent,
  signLocally,
  subscribed,
} from '../../test/support/pusher.js'
import {
  closeCode,
  findCloseCode,
  openRawPusherSocket,
  openRawTcpUpgrade,
} from '../../test/support/raw-ws.js'
import { startTestGateway, testApp } from '../../test/support/test-gateway.js'
import { PusherCode } from '../src/errors/pusher-codes.js'

describe('Pusher WebSocket edge', () => {
  it('sends connection_established with a valid socket id and the configured activity timeout', async () => {
    const { addresses } = await startTestGateway({ pusher: { activityTimeout: 45 } })
    const { frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    const first = await frames.next()
    expect(first.event).toBe('pusher:connection_established')
    expect(typeof first.data).toBe('string')
    const data = JSON.parse(first.data as string) as { socket_id: string; activity_timeout: number }
    expect(data.socket_id).toMatch(/^\d+\.\d+$/)
    expect(data.activity_timeout).toBe(45)
  })

  it('refuses an unknown app key with 4001 and pusher-js stays disconnected', async () => {
    const { addresses } = await startTestGateway()
    const client = createPusherClient(addresses.http.port, { key: 'no-such-key', secret: 'x' })
    const error = await new Promise<{ error?: { data?: { code?: number } } }>((resolve) =>
      client.connection.bind('error', resolve),
    )
    expect(error.error?.data?.code).toBe(PusherCode.AppNotFound)
    await new Promise<void>((resolve) => {
      if (client.connection.state === 'disconnected') resolve()
      else client.connection.bind('disconnected', () => resolve())
    })
    expect(client.connection.state).toBe('disconnected')
  })

  it('closes a raw socket on an unknown key with pusher:error then close code 4001', async () => {
    const { addresses } = await startTestGateway()
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, 'nope')
    const closed = closeCode(ws)
    expect(await frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4001, message: 'App key nope does not exist' },
    })
    expect((await closed).code).toBe(4001)
  })

  it('refuses a disabled app with 4003', async () => {
    const { addresses } = await startTestGateway({ apps: [{ ...testApp, enabled: false }] })
    const { ws } = await openRawPusherSocket(addresses.http.port, testApp.key)
    expect((await closeCode(ws)).code).toBe(PusherCode.AppDisabled)
  })

  it('subscribes to public channels and answers pusher:ping', async () => {
    const { addresses } = await startTestGateway()
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    await frames.next()
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { auth: '', channel: 'news' } }))
    expect(await frames.next()).toEqual({
      event: 'pusher_internal:subscription_succeeded',
      channel: 'news',
      data: '{}',
    })
    // Some SDKs send data as a JSON string rather than an object (pusher-protocol §0.3).
    ws.send(JSON.stringify({ event: 'pusher:ping', data: '{}' }))
    expect(await frames.next()).toEqual({ event: 'pusher:pong', data: '{}' })
  })

  it('answers a tampered private-channel signature with pusher:subscription_error 401', async () => {
    const { addresses } = await startTestGateway()
    const forged = signLocally({ key: testApp.key, secret: 'not-the-app-secret' })
    const client = createPusherClient(addresses.http.port, testApp, forged)
    await connected(client)
    const subscription = client.subscribe('private-device-x')
    const error = await new Promise<unknown>((resolve) =>
      subscription.bind('pusher:subscription_error', resolve),
    )
    expect(error).toEqual({
      type: 'AuthError',
      error: 'Invalid signature for private-device-x',
      status: 401,
    })
    expect(client.connection.state).toBe('connected')
  })

  it('refuses a private subscription without auth and a name outside the character set', async () => {
    const { addresses } = await startTestGateway()
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    await frames.next()
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-a' } }))
    expect(await frames.next()).toMatchObject({
      event: 'pusher:subscription_error',
      channel: 'private-a',
      data: expect.stringContaining('"status":401'),
    })
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bad/name' } }))
    expect(await frames.next()).toMatchObject({
      event: 'pusher:subscription_error',
      channel: 'bad/name',
      data: expect.stringContaining('"status":400'),
    })
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: {} }))
    expect(await frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4300, message: 'pusher:subscribe needs data.channel as a string' },
    })
  })

  it('answers malformed JSON and binary frames with pusher:error and keeps the socket open', async () => {
    const { addresses } = await startTestGateway()
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    await frames.next()
    for (const text of ['{not json', '[1,2]', '{"event":42}', '{"event":"x","channel":7}']) {
      ws.send(text)
      const reply = await frames.next()
      expect(reply.event, text).toBe('pusher:error')
      expect((reply.data as { code: number }).code).toBe(PusherCode.InvalidMessage)
    }
    ws.send(Buffer.from([1, 2, 3]), { binary: true })
    expect(await frames.next()).toEqual({
      event: 'pusher:error',
      data: { code: 4300, message: 'Binary frames are not supported; send JSON text' },
    })
    ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }))
    expect((await frames.next()).event).toBe('pusher:pong')
  })

  it('closes only the offending socket on a malformed WebSocket frame', async () => {
    const { addresses } = await startTestGateway()
    const bystander = await openRawPusherSocket(addresses.http.port, testApp.key)
    await bystander.frames.next()

    const raw = await openRawTcpUpgrade(addresses.http.port, `/app/${testApp.key}`)
    const closed = new Promise<void>((resolve) => raw.socket.once('close', () => resolve()))
    // Opcode 0x3 is reserved (RFC 6455 §5.2) and the frame is unmasked: a protocol error twice over.
    raw.socket.write(Buffer.from([0x83, 0x00]))
    await closed
    expect(findCloseCode(raw.received())).toBe(1002)

    bystander.ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }))
    expect((await bystander.frames.next()).event).toBe('pusher:pong')
  })

  it('closes a socket whose frame exceeds pusher.maxFrameBytes with 1009', async () => {
    const { addresses } = await startTestGateway({ pusher: { maxFrameBytes: 2048 } })
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    await frames.next()
    const closed = closeCode(ws)
    ws.send(JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(4096) } }))
    expect((await closed).code).toBe(1009)
  })

  it('stops delivering to a socket after pusher:unsubscribe', async () => {
    const target = await startTestGateway()
    const port = target.addresses.http.port
    const stays = createPusherClient(port, testApp)
    await subscribed(stays, 'private-device-d1')
    const { ws, frames } = await openRawPusherSocket(port, testApp.key)
    const { socket_id } = JSON.parse((await frames.next()).data as string) as { socket_id: string }
    const auth = await new Promise<string>((resolve) =>
      signLocally(testApp)({ socketId: socket_id, channelName: 'private-device-d1' }, (_e, data) =>
        resolve(data?.auth ?? ''),
      ),
    )
    ws.send(
      JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-device-d1', auth } }),
    )
    expect((await frames.next()).event).toBe('pusher_internal:subscription_succeeded')
    ws.send(JSON.stringify({ event: 'pusher:unsubscribe', data: { channel: 'private-device-d1' } }))

    const device = await connectDevice(target, 'd1')
    const arrived = nextEvent(stays, 'private-device-d1', 'tick')
    await device.publishAsync('devices/d1/events/tick', '{"n":1}', { qos: 1 })
    expect(await arrived).toEqual({ n: 1 })
    // TCP keeps order: had the event been sent to the raw socket, it would come before this pong.
    ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }))
    expect((await frames.next()).event).toBe('pusher:pong')
  })

  it('asks clients to reconnect (4200) when the gateway closes', async () => {
    const { addresses, gateway } = await startTestGateway()
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    await frames.next()
    const closed = closeCode(ws)
    await gateway.close()
    expect((await closed).code).toBe(PusherCode.Reconnect)
    await gateway.close()
  })

  it('answers 404 for other upgrade paths and serves /healthz', async () => {
    const { addresses } = await startTestGateway()
    const raw = await openRawTcpUpgrade(addresses.http.port, '/nowhere')
    await new Promise<void>((resolve) => raw.socket.once('close', () => resolve()))
    expect(raw.received().toString()).toMatch(/^HTTP\/1\.1 404 /)
    const health = await fetch(`http://127.0.0.1:${addresses.http.port}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const missing = await fetch(`http://127.0.0.1:${addresses.http.port}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: 'No route for GET /nope' })
  })

  it('answers a cache channel subscription with cache_miss, then with the last event', async () => {
    const { addresses, gateway } = await startTestGateway()
    const { ws, frames } = await openRawPusherSocket(addresses.http.port, testApp.key)
    await frames.next()
    ws.send(
      JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'cache-prices', auth: '' } }),
    )
    expect((await frames.next()).event).toBe('pusher_internal:subscription_succeeded')
    expect(await frames.next()).toEqual({ event: 'pusher:cache_miss', channel: 'cache-prices' })
    await gateway.channels.trigger({
      appId: testApp.id,
      channel: 'cache-prices',
      event: 'price',
      data: '{"v":1}',
    })
    expect(await frames.next()).toEqual({
      event: 'price',
      channel: 'cache-prices',
      data: '{"v":1}',
    })

    const later = await openRawPusherSocket(addresses.http.port, testApp.key)
    await later.frames.next()
    later.ws.send(
      JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'cache-prices', auth: '' } }),
    )
    expect((await later.frames.next()).event).toBe('pusher_internal:subscription_succeeded')
    expect(await later.frames.next()).toEqual({
      event: 'price',
      channel: 'cache-prices',
      data: '{"v":1}',
    })
  })
})
