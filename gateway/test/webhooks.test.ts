/**
 * Webhooks (pusher-protocol §12, §16 item 20) end to end: real pusher-js, raw WebSocket and
 * mqtt.js clients against a real gateway, POSTing to a real HTTP receiver on 127.0.0.1. Tests
 * await the receiver's requests; absence is proven by ordering (the next request received is a
 * later one), never by waiting.
 */
import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { pino } from 'pino'
import Pusher from 'pusher'
import { describe, expect, it, onTestFinished } from 'vitest'
import type WebSocket from 'ws'
import { connectDevice } from '../../test/support/device.js'
import {
  connected,
  type createPusherClient,
  createPusherClientWith,
  subscribed,
} from '../../test/support/pusher.js'
import { testBackend } from '../../test/support/pusher-server.js'
import { type FrameQueue, openRawPusherSocket } from '../../test/support/raw-ws.js'
import {
  startTestGateway,
  type TestGateway,
  tempDir,
  testApp,
} from '../../test/support/test-gateway.js'
import type { ConfigOverrides } from '../src/config/load.js'
import type { WebhookEventName } from '../src/config/schema.js'
import { appSchema } from '../src/config/schema.js'
import type { App } from '../src/domain/app.js'
import { openStore } from '../src/store/open-store.js'
import { WebhookDispatcher } from '../src/webhooks/dispatcher.js'
import { signWebhook } from '../src/webhooks/signature.js'
import { toWebhookEvent, webhookBody } from '../src/webhooks/webhook-events.js'
import { createWebhooks } from '../src/webhooks/webhooks.js'

interface WebhookRequest {
  method: string | undefined
  headers: IncomingHttpHeaders
  rawBody: string
  body: { time_ms: number; events: Array<Record<string, unknown>> }
  /** When the receiver got it (epoch ms). */
  at: number
}

/** What the receiver does with the n-th request (from 1): answer with a status, or never. */
type Answer = (n: number) => number | 'hang'

interface Receiver {
  url: string
  next(): Promise<WebhookRequest>
  count(): number
}

/** A webhook endpoint on port 0 whose requests are awaited one by one, in arrival order. */
async function startReceiver(answer: Answer = () => 200): Promise<Receiver> {
  const received: WebhookRequest[] = []
  const waiters: Array<(request: WebhookRequest) => void> = []
  let n = 0
  const hanging: ServerResponse[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      n += 1
      const rawBody = Buffer.concat(chunks).toString('utf8')
      const request: WebhookRequest = {
        method: req.method,
        headers: req.headers,
        rawBody,
        body: JSON.parse(rawBody) as WebhookRequest['body'],
        at: Date.now(),
      }
      const status = answer(n)
      if (status === 'hang') hanging.push(res)
      else res.writeHead(status).end()
      const waiter = waiters.shift()
      if (waiter) waiter(request)
      else received.push(request)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/pusher/webhooks`,
    next() {
      const request = received.shift()
      if (request) return Promise.resolve(request)
      return new Promise((resolve) => waiters.push(resolve))
    },
    count: () => n,
  }
}

interface Target {
  url: string
  events?: WebhookEventName[]
}

function gatewayWith(
  targets: Target[],
  overrides: ConfigOverrides = {},
  app: Partial<App> = {},
): Promise<TestGateway> {
  return startTestGateway({
    ...overrides,
    webhooks: { delay: 0.2, ...overrides.webhooks },
    apps: [{ ...testApp, ...app, webhooks: targets }],
  })
}

const backend = testBackend

async function rawSocket(target: TestGateway): Promise<{ ws: WebSocket; frames: FrameQueue }> {
  const socket = await openRawPusherSocket(target.addresses.http.port, testApp.key)
  expect((await socket.frames.next()).event).toBe('pusher:connection_established')
  return socket
}

/** Subscribes a raw socket to a public or cache channel and waits for the server's answer. */
async function subscribeRaw(
  socket: { ws: WebSocket; frames: FrameQueue },
  channel: string,
): Promise<void> {
  socket.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }))
  const answer = await socket.frames.next()
  expect(answer).toMatchObject({ event: 'pusher_internal:subscription_succeeded', channel })
}

function unsubscribeRaw(socket: { ws: WebSocket }, channel: string): void {
  socket.ws.send(JSON.stringify({ event: 'pusher:unsubscribe', data: { channel } }))
}

type Authorize = NonNullable<Parameters<typeof createPusherClient>[2]>

/** Channel auth endpoint of a page whose user is `userId`, signed by the SDK. */
function authorizeAs(userId: string): Authorize {
  return ({ socketId, channelName }, callback) =>
    callback(
      null,
      channelName.startsWith('presence-')
        ? backend.authorizeChannel(socketId, channelName, { user_id: userId })
        : backend.authorizeChannel(socketId, channelName),
    )
}

describe('webhooks: what is sent', () => {
  it('signs each POST so the pusher SDK verifies it, with the exact headers and body', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith([
      { url: receiver.url, events: ['channel_occupied', 'channel_vacated'] },
    ])
    const socket = await rawSocket(target)
    const before = Date.now()
    await subscribeRaw(socket, 'news')

    const occupied = await receiver.next()
    expect(occupied.method).toBe('POST')
    expect(occupied.headers['content-type']).toBe('application/json')
    expect(occupied.headers['x-pusher-key']).toBe(testApp.key)
    expect(occupied.headers['x-pusher-signature']).toBe(
      createHmac('sha256', testApp.secret).update(occupied.rawBody).digest('hex'),
    )
    expect(occupied.rawBody).toBe(
      `{"time_ms":${occupied.body.time_ms},"events":[{"name":"channel_occupied","channel":"news"}]}`,
    )
    expect(occupied.body.time_ms).toBeGreaterThanOrEqual(before)
    expect(occupied.body.time_ms).toBeLessThanOrEqual(occupied.at)
    const webhook = backend.webhook({ headers: occupied.headers, rawBody: occupied.rawBody })
    expect(webhook.isValid()).toBe(true)
    expect(webhook.getEvents()).toEqual([{ name: 'channel_occupied', channel: 'news' }])
    const impostor = new Pusher({ ...testAppSdk(), secret: 'another-secret' })
    expect(
      impostor.webhook({ headers: occupied.headers, rawBody: occupied.rawBody }).isValid(),
    ).toBe(false)

    // channel_vacated waits out webhooks.delay (0.2 s) before it is queued.
    const left = Date.now()
    unsubscribeRaw(socket, 'news')
    const vacated = await receiver.next()
    expect(vacated.body.events).toEqual([{ name: 'channel_vacated', channel: 'news' }])
    expect(vacated.body.time_ms - left).toBeGreaterThanOrEqual(190)
    expect(backend.webhook({ headers: vacated.headers, rawBody: vacated.rawBody }).isValid()).toBe(
      true,
    )
  })

  it('sends neither channel_vacated nor the second channel_occupied on a quick resubscribe', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith(
      [{ url: receiver.url, events: ['channel_occupied', 'channel_vacated'] }],
      { webhooks: { delay: 1 } },
    )
    const socket = await rawSocket(target)
    await subscribeRaw(socket, 'news')
    expect((await receiver.next()).body.events).toEqual([
      { name: 'channel_occupied', channel: 'news' },
    ])

    unsubscribeRaw(socket, 'news')
    await subscribeRaw(socket, 'news')
    // Now vacate for good: the next webhook must be this one vacate, nothing from the churn.
    unsubscribeRaw(socket, 'news')
    const next = await receiver.next()
    expect(next.body.events).toEqual([{ name: 'channel_vacated', channel: 'news' }])
    expect(receiver.count()).toBe(2)
  })

  it('reports presence members joining and leaving (after the grace period)', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith(
      [{ url: receiver.url, events: ['member_added', 'member_removed'] }],
      { pusher: { presenceGracePeriod: 0.2 } },
    )
    const client = createPusherClientWith(target.addresses.http.port, testApp, {
      authorize: authorizeAs('user-7'),
    })
    await subscribed(client, 'presence-room')
    expect((await receiver.next()).body.events).toEqual([
      { name: 'member_added', channel: 'presence-room', user_id: 'user-7' },
    ])
    client.unsubscribe('presence-room')
    const removed = await receiver.next()
    expect(removed.body.events).toEqual([
      { name: 'member_removed', channel: 'presence-room', user_id: 'user-7' },
    ])
  })

  it('reports client events with data as a JSON string, socket_id, and user_id on presence', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith(
      [{ url: receiver.url, events: ['client_event'] }],
      {},
      { clientEvents: true },
    )
    const client = createPusherClientWith(target.addresses.http.port, testApp, {
      authorize: authorizeAs('user-9'),
    })
    await connected(client)
    const socketId = client.connection.socket_id
    const chat = await subscribed(client, 'private-chat')
    chat.trigger('client-typing', { text: 'hi', n: 1 })
    expect((await receiver.next()).body.events).toEqual([
      {
        name: 'client_event',
        channel: 'private-chat',
        event: 'client-typing',
        data: '{"text":"hi","n":1}',
        socket_id: socketId,
      },
    ])

    const room = await subscribed(client, 'presence-room')
    room.trigger('client-wave', 'hello')
    expect((await receiver.next()).body.events).toEqual([
      {
        name: 'client_event',
        channel: 'presence-room',
        event: 'client-wave',
        data: 'hello',
        socket_id: socketId,
        user_id: 'user-9',
      },
    ])
  })

  it('sends one cache_miss per burst of subscribers finding a cache channel empty', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith([{ url: receiver.url, events: ['cache_miss'] }], {
      webhooks: { delay: 5 },
    })
    const first = await rawSocket(target)
    await subscribeRaw(first, 'cache-weather')
    expect(await first.frames.next()).toMatchObject({
      event: 'pusher:cache_miss',
      channel: 'cache-weather',
    })
    expect((await receiver.next()).body.events).toEqual([
      { name: 'cache_miss', channel: 'cache-weather' },
    ])

    const second = await rawSocket(target)
    await subscribeRaw(second, 'cache-weather')
    expect(await second.frames.next()).toMatchObject({ event: 'pusher:cache_miss' })
    await subscribeRaw(second, 'cache-tides')
    // The second miss of cache-weather was folded into the first: next is cache-tides.
    expect((await receiver.next()).body.events).toEqual([
      { name: 'cache_miss', channel: 'cache-tides' },
    ])
  })

  it('filters by each target’s events and sends device events only to targets that ask', async () => {
    const everything = await startReceiver()
    const devices = await startReceiver()
    const occupancy = await startReceiver()
    const target = await gatewayWith([
      { url: everything.url },
      { url: devices.url, events: ['device_connected', 'device_disconnected'] },
      { url: occupancy.url, events: ['channel_occupied'] },
    ])
    const device = await connectDevice(target, 'thermo-1')
    expect((await devices.next()).body.events).toEqual([
      { name: 'device_connected', channel: 'private-device-thermo-1', device_id: 'thermo-1' },
    ])

    const socket = await rawSocket(target)
    await subscribeRaw(socket, 'news')
    // The device joined presence-devices (its member_added is a Pusher event, so a list-less
    // target gets it); without apps[].subscriptionCount it gets no subscription_count.
    expect((await everything.next()).body.events).toEqual([
      { name: 'member_added', channel: 'presence-devices', user_id: 'thermo-1' },
    ])
    expect((await everything.next()).body.events).toEqual([
      { name: 'channel_occupied', channel: 'news' },
    ])
    expect((await occupancy.next()).body.events).toEqual([
      { name: 'channel_occupied', channel: 'news' },
    ])

    await subscribeRaw(socket, 'sport')
    // subscription_count for news was not for this target: its next webhook is sport's occupancy.
    expect((await occupancy.next()).body.events).toEqual([
      { name: 'channel_occupied', channel: 'sport' },
    ])

    await device.endAsync()
    // No channel event reached the devices target: its next webhook is the disconnect.
    expect((await devices.next()).body.events).toEqual([
      { name: 'device_disconnected', channel: 'private-device-thermo-1', device_id: 'thermo-1' },
    ])
    await subscribeRaw(socket, 'weather')
    // Nor did a device event reach the target without a list: after sport comes weather.
    const rest = [await everything.next(), await everything.next(), await everything.next()]
    expect(rest.map((request) => request.body.events)).toEqual([
      [{ name: 'channel_occupied', channel: 'sport' }],
      [{ name: 'member_removed', channel: 'presence-devices', user_id: 'thermo-1' }],
      [{ name: 'channel_occupied', channel: 'weather' }],
    ])
  })

  it('sends subscription_count to a target that lists it', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith([{ url: receiver.url, events: ['subscription_count'] }])
    const socket = await rawSocket(target)
    await subscribeRaw(socket, 'news')
    expect((await receiver.next()).body.events).toEqual([
      { name: 'subscription_count', channel: 'news', subscription_count: 1 },
    ])
  })

  it('gathers the events of a batch window into one POST', async () => {
    const receiver = await startReceiver()
    const target = await gatewayWith([{ url: receiver.url, events: ['channel_occupied'] }], {
      webhooks: { batchWindow: 1000 },
    })
    const socket = await rawSocket(target)
    for (const channel of ['a', 'b', 'c'])
      socket.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }))
    const batch = await receiver.next()
    expect(batch.body.events).toEqual([
      { name: 'channel_occupied', channel: 'a' },
      { name: 'channel_occupied', channel: 'b' },
      { name: 'channel_occupied', channel: 'c' },
    ])
    expect(backend.webhook({ headers: batch.headers, rawBody: batch.rawBody }).isValid()).toBe(true)
  })
})

describe('webhooks: delivery', () => {
  it('retries a failing receiver with exponential backoff until it answers 2xx', async () => {
    const receiver = await startReceiver((n) => (n <= 2 ? 500 : 204))
    const target = await gatewayWith([{ url: receiver.url, events: ['channel_occupied'] }])
    await subscribeRaw(await rawSocket(target), 'news')
    const attempts = [await receiver.next(), await receiver.next(), await receiver.next()]
    for (const attempt of attempts) {
      expect(attempt.rawBody).toBe(attempts[0]?.rawBody)
      expect(
        backend.webhook({ headers: attempt.headers, rawBody: attempt.rawBody }).isValid(),
      ).toBe(true)
    }
    const [first, second, third] = attempts.map((attempt) => attempt.at)
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(950)
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(1950)
  })

  it('times out a receiver that never answers and tries again', async () => {
    const receiver = await startReceiver((n) => (n === 1 ? 'hang' : 200))
    const target = await gatewayWith([{ url: receiver.url, events: ['channel_occupied'] }], {
      webhooks: { timeout: 0.2 },
    })
    await subscribeRaw(await rawSocket(target), 'news')
    const hung = await receiver.next()
    const retried = await receiver.next()
    expect(retried.rawBody).toBe(hung.rawBody)
    expect(retried.at - hung.at).toBeGreaterThanOrEqual(1000)
  })

  it('keeps undelivered webhooks in the store across a restart', async () => {
    let status = 500
    const receiver = await startReceiver(() => status)
    const storePath = join(tempDir(), 'fleetcast.db')
    const targets: Target[] = [{ url: receiver.url, events: ['channel_occupied'] }]
    const first = await gatewayWith(targets, { store: { path: storePath } })
    await subscribeRaw(await rawSocket(first), 'news')
    const failed = await receiver.next()
    await first.gateway.close()

    status = 200
    await gatewayWith(targets, { store: { path: storePath } })
    const delivered = await receiver.next()
    expect(delivered.rawBody).toBe(failed.rawBody)
    expect(delivered.headers['x-pusher-signature']).toBe(failed.headers['x-pusher-signature'])
  })
})

function testAppSdk() {
  return { appId: testApp.id, key: testApp.key, secret: testApp.secret, cluster: 'x' }
}

const app: App = appSchema.parse({ id: 'app-1', key: 'key-1', secret: 'secret-123' })

describe('webhooks: units', () => {
  it('signs the spec vector (pusher-protocol §12)', () => {
    const body = webhookBody(1327078148132, [
      toWebhookEvent({ name: 'channel_occupied', appId: 'a', channel: 'my-channel' }),
    ])
    expect(body).toBe(
      '{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}',
    )
    expect(signWebhook(testApp.secret, body)).toBe(
      createHmac('sha256', testApp.secret).update(body).digest('hex'),
    )
  })

  it('queues, leases, reschedules and trims the oldest rows', () => {
    const store = openStore(':memory:')
    const queue = store.webhookQueue
    const ids = [1, 2, 3].map((i) =>
      queue.enqueue({
        appId: 'a',
        url: 'http://x/',
        body: `{"n":${i}}`,
        nextAttemptAt: i,
        expiresAt: 99,
      }),
    )
    expect(queue.due(2, 10).map((row) => row.id)).toEqual(ids.slice(0, 2))
    queue.reschedule(ids[0] ?? 0, 50, 'HTTP 500')
    expect(queue.due(10, 10).map((row) => row.id)).toEqual(ids.slice(1))
    expect(queue.due(50, 1)[0]).toMatchObject({ attempts: 0, body: '{"n":2}' })
    expect(queue.due(50, 10)[2]).toMatchObject({ attempts: 1, lastError: 'HTTP 500' })
    queue.lease(ids[1] ?? 0, 60)
    expect(queue.nextAttemptAt()).toBe(3)
    expect(queue.trim(5)).toBe(0)
    expect(queue.trim(1)).toBe(2)
    expect(queue.count()).toBe(1)
    expect(queue.due(100, 10).map((row) => row.body)).toEqual(['{"n":3}'])
    queue.remove(ids[2] ?? 0)
    expect(queue.count()).toBe(0)
    expect(queue.nextAttemptAt()).toBeUndefined()
    store.close()
  })

  it('passes channel_vacated straight through without a delay and flushes held events on close', () => {
    const bodies: string[] = []
    const options = {
      findApp: () => ({ ...app, webhooks: [{ url: 'http://x/' }] }),
      batchWindowMs: 0,
      enqueue: (_appId: string, _url: string, body: string) => bodies.push(body),
      log: silentLog(),
    }
    const direct = new WebhookDispatcher({ ...options, delayMs: 0 })
    direct.dispatch({ name: 'channel_vacated', appId: 'app-1', channel: 'c' })
    expect(bodies).toHaveLength(1)

    const held = new WebhookDispatcher({ ...options, delayMs: 60_000, batchWindowMs: 60_000 })
    held.dispatch({ name: 'channel_vacated', appId: 'app-1', channel: 'c' })
    held.dispatch({ name: 'member_added', appId: 'app-1', channel: 'presence-c', userId: 'u' })
    expect(bodies).toHaveLength(1)
    held.close()
    expect(bodies).toHaveLength(2)
    expect(JSON.parse(bodies[1] ?? '').events).toEqual([
      { name: 'member_added', channel: 'presence-c', user_id: 'u' },
      { name: 'channel_vacated', channel: 'c' },
    ])
    held.dispatch({ name: 'channel_occupied', appId: 'app-1', channel: 'c' })
    expect(bodies).toHaveLength(2)
  })

  it('drops a webhook that keeps failing past retryFor, and counts queue overflow', async () => {
    const receiver = await startReceiver(() => 503)
    const store = openStore(':memory:')
    onTestFinished(() => store.close())
    const webhooks = createWebhooks({
      store,
      log: silentLog(),
      config: { batchWindow: 0, timeout: 1, retryFor: 0, delay: 0, maxQueued: 2 },
      findApp: () => ({ ...app, webhooks: [{ url: receiver.url, events: ['channel_occupied'] }] }),
      backoffBaseMs: 10,
    })
    for (const channel of ['a', 'b', 'c'])
      webhooks.onLifecycle({ name: 'channel_occupied', appId: 'app-1', channel })
    expect(webhooks.stats()).toEqual({ queued: 2, delivered: 0, failed: 0, dropped: 1 })
    webhooks.start()
    const seen = [await receiver.next(), await receiver.next()]
    expect(seen.flatMap((request) => request.body.events)).toEqual(
      expect.arrayContaining([
        { name: 'channel_occupied', channel: 'b' },
        { name: 'channel_occupied', channel: 'c' },
      ]),
    )
    await webhooks.close()
    // retryFor 0: the first failed attempt was the last one.
    expect(webhooks.stats()).toEqual({ queued: 0, delivered: 0, failed: 2, dropped: 1 })
  })
})

function silentLog() {
  return pino({ level: 'silent' })
}
