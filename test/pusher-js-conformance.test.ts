import { describe, expect, it, onTestFinished } from 'vitest'
import WebSocket from 'ws'
import { channelStringToSign, hmacHex } from '../gateway/src/auth/channel-signature.js'
import type { PusherClient } from '../gateway/src/cli/pusher-js.js'
import {
  connected,
  createPusherClient,
  createPusherClientWith,
  nextEvent,
  nextMessage,
  type PusherMessage,
  reachedState,
  recordMessages,
  signedIn,
  subscribed,
} from './support/pusher.js'
import { testBackend } from './support/pusher-server.js'
import { closeCode, openRawPusherSocket } from './support/raw-ws.js'
import { startTcpProxy } from './support/tcp-proxy.js'
import { startTestGateway, type TestGateway, testApp } from './support/test-gateway.js'

type Authorize = NonNullable<Parameters<typeof createPusherClient>[2]>
type Authenticate = NonNullable<
  NonNullable<Parameters<typeof createPusherClientWith>[2]>['authenticate']
>

const backend = testBackend

/** Channel auth endpoint for private channels (and presence without channel_data, §6.2). */
const sdkAuthorize: Authorize = ({ socketId, channelName }, callback) =>
  callback(null, backend.authorizeChannel(socketId, channelName))

/** Channel auth endpoint of a page whose user is `userId` (presence channel_data). */
function presenceAs(userId: string, userInfo?: Record<string, unknown>): Authorize {
  return ({ socketId, channelName }, callback) =>
    callback(
      null,
      backend.authorizeChannel(socketId, channelName, {
        user_id: userId,
        ...(userInfo ? { user_info: userInfo } : {}),
      }),
    )
}

/** User-auth endpoint (`client.signin()`) of a page whose user is `id`. */
function signInAs(id: string, extra: Record<string, unknown> = {}): Authenticate {
  return ({ socketId }, callback) =>
    callback(null, backend.authenticateUser(socketId, { id, ...extra }))
}

/** Flips the last hex digit of `key:signature`, as a forged or stale signature would look. */
function tamper(auth: string): string {
  return auth.slice(0, -1) + (auth.endsWith('0') ? '1' : '0')
}

/** Resolves with the `pusher:subscription_error` data; rejects if the subscription succeeds. */
function subscriptionFails(client: PusherClient, channel: string): Promise<unknown> {
  const subscription = client.subscribe(channel)
  return new Promise((resolve, reject) => {
    subscription.bind('pusher:subscription_error', resolve)
    subscription.bind('pusher:subscription_succeeded', () =>
      reject(new Error(`${channel}: subscription succeeded but should have failed`)),
    )
  })
}

interface ConnectionError {
  type: string
  error?: { type?: string; data?: { code?: number; message?: string } }
  data?: { code?: number; message?: string }
}

function recordErrors(client: PusherClient): ConnectionError[] {
  const errors: ConnectionError[] = []
  client.connection.bind('error', (error: ConnectionError) => errors.push(error))
  return errors
}

/**
 * Resolves when pusher-js acts on a close (or handshake error): the connection manager emits a
 * `WebSocketError` wrapping the close code just before it retries, backs off or gives up
 * (pusher-js `buildErrorCallbacks`). `at` is Date.now() at that moment.
 */
function closeActedOn(client: PusherClient): Promise<{ code: number | undefined; at: number }> {
  return new Promise((resolve) => {
    const handler = (error: ConnectionError) => {
      if (error.type !== 'WebSocketError') return
      client.connection.unbind('error', handler)
      resolve({ code: error.error?.data?.code, at: Date.now() })
    }
    client.connection.bind('error', handler)
  })
}

let syncChannels = 0

/**
 * A subscribe round trip on a fresh public channel. The server handles one socket's frames in
 * order, so every reply to what the client sent before has arrived when this resolves.
 */
async function roundTrip(client: PusherClient): Promise<void> {
  syncChannels += 1
  await subscribed(client, `sync-${syncChannels}`)
}

function recordStates(client: PusherClient): string[] {
  const states: string[] = []
  client.connection.bind('state_change', ({ current }: { current: string }) => states.push(current))
  return states
}

/** Counts `pusher:subscription_succeeded` per channel; `until(n)` waits for the n-th one. */
function countSubscriptions(client: PusherClient, channel: string) {
  let count = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const subscription = client.subscribe(channel)
  subscription.bind('pusher:subscription_succeeded', () => {
    count += 1
    for (const waiter of waiters.filter((w) => w.n <= count)) {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  })
  return {
    get count() {
      return count
    },
    until: (n: number) =>
      new Promise<void>((resolve) => {
        if (count >= n) resolve()
        else waiters.push({ n, resolve })
      }),
  }
}

interface PresenceRoster {
  count: number
  members: Record<string, unknown>
  me: { id: string; info: unknown } | null
}

function roster(channel: unknown): PresenceRoster {
  const { members } = channel as { members: PresenceRoster }
  return { count: members.count, members: { ...members.members }, me: members.me }
}

function socketIdOf(established: Record<string, unknown>): string {
  return (JSON.parse(established.data as string) as { socket_id: string }).socket_id
}

/** Internal frames on one channel, with their data as pusher-js decoded it. */
function framesOn(messages: PusherMessage[], channel: string, event: string): unknown[] {
  return messages.filter((m) => m.channel === channel && m.event === event).map((m) => m.data)
}

/** What the REST API will do: publish an event (data is the JSON string an app sends). */
async function trigger(
  target: TestGateway,
  channel: string,
  event: string,
  data: unknown,
): Promise<void> {
  // false would mean the app is over its message quota.
  const accepted: unknown = await target.gateway.channels.trigger({
    appId: testApp.id,
    channel,
    event,
    data: JSON.stringify(data),
  })
  expect(accepted).not.toBe(false)
}

/** Values pushed by event handlers, awaited one at a time in arrival order. */
class Inbox<T> {
  readonly items: T[] = []
  #read = 0
  readonly #waiters: Array<() => void> = []

  push = (item: T): void => {
    this.items.push(item)
    this.#waiters.shift()?.()
  }

  async next(): Promise<T> {
    while (this.#read >= this.items.length) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    return this.items[this.#read++] as T
  }
}

describe('pusher-protocol §16 with pusher-js 8 and the pusher server SDK', () => {
  it('1: connects with the self-hosted options and gets a socket_id matching ^\\d+\\.\\d+$', async () => {
    const { addresses } = await startTestGateway()
    const first = createPusherClient(addresses.http.port, testApp)
    const second = createPusherClient(addresses.http.port, testApp)
    await Promise.all([connected(first), connected(second)])
    expect(first.connection.state).toBe('connected')
    expect(first.connection.socket_id).toMatch(/^\d+\.\d+$/)
    expect(second.connection.socket_id).toMatch(/^\d+\.\d+$/)
    expect(second.connection.socket_id).not.toBe(first.connection.socket_id)
    // activity_timeout arrived as a positive number of seconds (pusher-js takes min(120 s, server)).
    expect(first.connection.activityTimeout).toBe(120_000)
  })

  it('2: an unknown app key leaves pusher-js disconnected with error 4001 and no reconnect attempt', async () => {
    const { addresses } = await startTestGateway()
    const proxy = await startTcpProxy(addresses.http.port)
    const client = createPusherClient(proxy.port, { key: 'no-such-key', secret: 'irrelevant' })
    const errors = recordErrors(client)
    const states = recordStates(client)
    await reachedState(client, 'disconnected')
    expect(errors).toContainEqual({
      type: 'WebSocketError',
      error: {
        type: 'PusherError',
        data: { code: 4001, message: 'App key no-such-key does not exist' },
      },
    })
    // 'disconnected' is pusher-js's terminal state for "refused"; a retry or backoff would have
    // kept it 'connecting'. One TCP connection was made, and no other is scheduled.
    expect(states).toEqual(['disconnected'])
    expect(client.connection.state).toBe('disconnected')
    expect(proxy.connections).toHaveLength(1)
  })

  describe('3: server-initiated reconnects', () => {
    it('close 4200 (shutdown): pusher-js reconnects at once and resubscribes every channel', async () => {
      // The proxy keeps pusher-js on one port while the server behind it changes, as a load
      // balancer does during a rolling restart.
      const leaving = await startTestGateway()
      const replacement = await startTestGateway()
      const proxy = await startTcpProxy(leaving.addresses.http.port)
      const client = createPusherClient(proxy.port, testApp, sdkAuthorize)
      const news = countSubscriptions(client, 'news')
      const orders = countSubscriptions(client, 'private-orders.7')
      await Promise.all([news.until(1), orders.until(1)])
      const firstSocketId = client.connection.socket_id
      const errors = recordErrors(client)

      proxy.retarget(replacement.addresses.http.port)
      const actedOn = closeActedOn(client)
      const shutdown = leaving.gateway.close()
      const closed = await actedOn
      expect(closed.code).toBe(4200)
      const reconnection = await proxy.connection(1)
      // pusher-js "retry" is 0 ms; its "backoff" (any other close) would wait 1000 ms.
      expect(reconnection.acceptedAt - closed.at).toBeLessThan(1000)
      await Promise.all([news.until(2), orders.until(2)])
      await shutdown
      expect(errors).toContainEqual({
        type: 'PusherError',
        data: { code: 4200, message: 'Server shutting down' },
      })
      expect(client.connection.state).toBe('connected')
      expect(client.connection.socket_id).not.toBe(firstSocketId)

      const headline = nextEvent(client, 'news', 'headline')
      const shipped = nextEvent(client, 'private-orders.7', 'shipped')
      await trigger(replacement, 'news', 'headline', { n: 1 })
      await trigger(replacement, 'private-orders.7', 'shipped', { id: 7 })
      expect(await headline).toEqual({ n: 1 })
      expect(await shipped).toEqual({ id: 7 })
    })

    it('close 4201 (pong not received): pusher-js reconnects at once and resubscribes every channel', async () => {
      const target = await startTestGateway({ pusher: { activityTimeout: 1, pongTimeout: 1 } })
      const proxy = await startTcpProxy(target.addresses.http.port)
      const client = createPusherClient(proxy.port, testApp, sdkAuthorize)
      const news = countSubscriptions(client, 'news')
      const orders = countSubscriptions(client, 'private-orders.7')
      await Promise.all([news.until(1), orders.until(1)])
      const firstSocketId = client.connection.socket_id
      const messages = recordMessages(client)

      // The uplink dies: pusher-js still hears the server (and answers its pings), but nothing it
      // sends arrives, so to the server it is a client that stopped answering.
      const actedOn = closeActedOn(client)
      ;(await proxy.connection(0)).freezeUplink()
      const closed = await actedOn
      expect(closed.code).toBe(4201)
      expect(messages.map((m) => m.event)).toContain('pusher:ping')
      expect(messages).toContainEqual({
        event: 'pusher:error',
        data: { code: 4201, message: 'Pong reply not received' },
      })
      const reconnection = await proxy.connection(1)
      expect(reconnection.acceptedAt - closed.at).toBeLessThan(1000)
      await Promise.all([news.until(2), orders.until(2)])
      expect(client.connection.socket_id).not.toBe(firstSocketId)

      const headline = nextEvent(client, 'news', 'headline')
      const shipped = nextEvent(client, 'private-orders.7', 'shipped')
      await trigger(target, 'news', 'headline', { n: 2 })
      await trigger(target, 'private-orders.7', 'shipped', { id: 8 })
      expect(await headline).toEqual({ n: 2 })
      expect(await shipped).toEqual({ id: 8 })
    })
  })

  describe('4: liveness', () => {
    it('an idle pusher-js client pings after activity_timeout and the server pongs', async () => {
      const { addresses } = await startTestGateway({ pusher: { activityTimeout: 1 } })
      const client = createPusherClient(addresses.http.port, testApp)
      await connected(client)
      expect(client.connection.activityTimeout).toBe(1000)
      const pong = nextMessage(client, (m) => m.event === 'pusher:pong')
      // Only a client ping makes the server send pusher:pong.
      expect(await pong).toMatchObject({ event: 'pusher:pong' })
      expect(client.connection.state).toBe('connected')
    })

    it('the server pings a silent socket and closes it with 4201; one that answers stays', async () => {
      const { addresses } = await startTestGateway({
        pusher: { activityTimeout: 1, pongTimeout: 1 },
      })
      const port = addresses.http.port
      const answering = await openRawPusherSocket(port, testApp.key)
      let pingsAnswered = 0
      answering.ws.on('message', (raw) => {
        if ((JSON.parse(raw.toString()) as { event: string }).event !== 'pusher:ping') return
        pingsAnswered += 1
        answering.ws.send(JSON.stringify({ event: 'pusher:pong', data: {} }))
      })
      const silent = await openRawPusherSocket(port, testApp.key)
      const silentClosed = closeCode(silent.ws)
      expect((await silent.frames.next()).event).toBe('pusher:connection_established')
      expect(await silent.frames.next()).toEqual({ event: 'pusher:ping', data: '{}' })
      expect(await silent.frames.next()).toEqual({
        event: 'pusher:error',
        data: { code: 4201, message: 'Pong reply not received' },
      })
      expect(await silentClosed).toEqual({ code: 4201, reason: 'Pong reply not received' })
      // Connected earlier, pinged no later than the silent one, which then had a full pong
      // timeout to go: the answering socket was pinged, answered and is still open.
      expect(pingsAnswered).toBeGreaterThan(0)
      expect(answering.ws.readyState).toBe(WebSocket.OPEN)
    })
  })

  it('5: WebSocket control pings from a non-browser client keep it alive without pusher:ping', async () => {
    const { addresses } = await startTestGateway({ pusher: { activityTimeout: 1, pongTimeout: 1 } })
    const port = addresses.http.port
    const pinging = await openRawPusherSocket(port, testApp.key)
    const pingingFrames: string[] = []
    pinging.ws.on('message', (raw) =>
      pingingFrames.push((JSON.parse(raw.toString()) as { event: string }).event),
    )
    // What Flutter/native SDKs do: RFC 6455 ping frames only, never a pusher:ping text frame.
    const pinger = setInterval(() => pinging.ws.ping(), 200)
    onTestFinished(() => clearInterval(pinger))
    const silent = await openRawPusherSocket(port, testApp.key)
    expect(await closeCode(silent.ws)).toEqual({ code: 4201, reason: 'Pong reply not received' })
    // The pinging socket is older than the one just closed for silence, yet still open and was
    // never even asked for a pusher:ping.
    expect(pinging.ws.readyState).toBe(WebSocket.OPEN)
    expect(pingingFrames).not.toContain('pusher:ping')
    expect(pingingFrames).not.toContain('pusher:error')
  })

  it('6: a public subscription fires pusher:subscription_succeeded exactly once', async () => {
    const target = await startTestGateway()
    const client = createPusherClient(target.addresses.http.port, testApp)
    const messages = recordMessages(client)
    const news = countSubscriptions(client, 'news')
    await news.until(1)
    client.subscribe('news') // a second subscribe() on a subscribed channel is a no-op
    const headline = nextEvent(client, 'news', 'headline')
    await trigger(target, 'news', 'headline', { n: 1 })
    expect(await headline).toEqual({ n: 1 })
    expect(news.count).toBe(1)
    expect(framesOn(messages, 'news', 'pusher_internal:subscription_succeeded')).toHaveLength(1)
  })

  it('7: a private subscription signed by pusher.authorizeChannel() succeeds; a tampered one gets subscription_error', async () => {
    const target = await startTestGateway()
    const port = target.addresses.http.port
    const client = createPusherClient(port, testApp, sdkAuthorize)
    await subscribed(client, 'private-orders.7')
    const shipped = nextEvent(client, 'private-orders.7', 'shipped')
    await trigger(target, 'private-orders.7', 'shipped', { id: 7 })
    expect(await shipped).toEqual({ id: 7 })

    const forger = createPusherClient(port, testApp, (params, callback) =>
      sdkAuthorize(params, (error, data) =>
        callback(error, data ? { ...data, auth: tamper(data.auth) } : data),
      ),
    )
    expect(await subscriptionFails(forger, 'private-orders.7')).toEqual({
      type: 'AuthError',
      error: 'Invalid signature for private-orders.7',
      status: 401,
    })
    // The refusal is a frame, not a close: the socket keeps working.
    await subscribed(forger, 'news')
    expect(forger.connection.state).toBe('connected')
  })

  it('8: presence roster is equal across tabs of one user; member_added once per user; member_removed after the last tab and the grace window', async () => {
    const grace = 0.5
    const target = await startTestGateway({ pusher: { presenceGracePeriod: grace } })
    const port = target.addresses.http.port
    const ada = { name: 'Ada' }
    const watcherInfo = { name: 'Watcher' }
    const watcher = createPusherClient(port, testApp, presenceAs('watcher', watcherInfo))
    const seen = recordMessages(watcher)
    // presence-sig-a / -b hold one tab each: their member_removed marks the moment the server
    // has handled that tab's departure from presence-room (same socket, same grace timer,
    // started just after the room's).
    const watcherRoom = await subscribed(watcher, 'presence-room')
    await subscribed(watcher, 'presence-sig-a')
    await subscribed(watcher, 'presence-sig-b')

    const tabA = createPusherClient(port, testApp, presenceAs('1', ada))
    const tabASeen = recordMessages(tabA)
    const added = nextEvent(watcher, 'presence-room', 'pusher:member_added')
    const roomA = await subscribed(tabA, 'presence-room')
    expect(await added).toEqual({ id: '1', info: ada })
    await subscribed(tabA, 'presence-sig-a')
    const tabB = createPusherClient(port, testApp, presenceAs('1', ada))
    const roomB = await subscribed(tabB, 'presence-room')
    await subscribed(tabB, 'presence-sig-b')

    const both = { watcher: watcherInfo, '1': ada }
    const tabRoster = { count: 2, members: both, me: { id: '1', info: ada } }
    expect(roster(roomA)).toEqual(tabRoster)
    expect(roster(roomB)).toEqual(tabRoster)
    expect(roster(watcherRoom)).toEqual({
      count: 2,
      members: both,
      me: { id: 'watcher', info: watcherInfo },
    })

    // Anything tab B's join caused reaches the watcher before this later event.
    const marker = nextEvent(watcher, 'presence-room', 'marker')
    await trigger(target, 'presence-room', 'marker', {})
    await marker
    expect(framesOn(seen, 'presence-room', 'pusher_internal:member_added')).toEqual([
      { user_id: '1', user_info: ada },
    ])
    // Never to the joining socket, nor to tab A when another tab of its own user joins.
    expect(framesOn(tabASeen, 'presence-room', 'pusher_internal:member_added')).toEqual([])

    // Tab A closes: user 1 still has tab B, so nothing is sent.
    const sigA = nextEvent(watcher, 'presence-sig-a', 'pusher:member_removed')
    tabA.disconnect()
    expect(await sigA).toEqual({ id: '1', info: ada })
    expect(framesOn(seen, 'presence-room', 'pusher_internal:member_removed')).toEqual([])

    // Tab B closes and a reloaded tab C (new socket, same user) joins within the grace window:
    // neither member_removed nor member_added.
    const tabC = createPusherClient(port, testApp, presenceAs('1', ada))
    await connected(tabC)
    const sigB = nextEvent(watcher, 'presence-sig-b', 'pusher:member_removed')
    tabB.disconnect()
    const roomC = await subscribed(tabC, 'presence-room')
    expect(roster(roomC)).toEqual(tabRoster)
    await sigB
    expect(framesOn(seen, 'presence-room', 'pusher_internal:member_removed')).toEqual([])
    expect(framesOn(seen, 'presence-room', 'pusher_internal:member_added')).toHaveLength(1)

    // The last tab closes: member_removed, but only once the grace window has passed.
    const removed = nextEvent(watcher, 'presence-room', 'pusher:member_removed')
    const closedAt = Date.now()
    tabC.disconnect()
    expect(await removed).toEqual({ id: '1', info: ada })
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(grace * 1000 - 50)
    expect(framesOn(seen, 'presence-room', 'pusher_internal:member_removed')).toEqual([
      { user_id: '1' },
    ])
    expect(roster(watcherRoom)).toEqual({
      count: 1,
      members: { watcher: watcherInfo },
      me: { id: 'watcher', info: watcherInfo },
    })
  })

  // §6.2, §0.4: a socket that left presence as user 1 and rejoins as user 2 within the grace
  // window (an SPA that logs out and in again on one connection: Echo.leave('room') then
  // Echo.join('room')) must join as user 2, not be "resumed" as user 1.
  it('8: a socket that rejoins presence as another user within the grace window joins as that user', async () => {
    const target = await startTestGateway({ pusher: { presenceGracePeriod: 3 } })
    const port = target.addresses.http.port
    const watcher = createPusherClient(port, testApp, presenceAs('watcher', { name: 'Watcher' }))
    const seen = recordMessages(watcher)
    await subscribed(watcher, 'presence-room')
    let user = { id: '1', name: 'One' }
    const client = createPusherClient(port, testApp, (params, callback) =>
      presenceAs(user.id, { name: user.name })(params, callback),
    )
    await subscribed(client, 'presence-room')
    client.unsubscribe('presence-room')
    user = { id: '2', name: 'Two' }
    const room = await subscribed(client, 'presence-room')
    const marker = nextEvent(watcher, 'presence-room', 'marker')
    await trigger(target, 'presence-room', 'marker', {})
    await marker
    expect({
      roster: roster(room),
      watcherHeard: seen
        .filter(
          (m) => m.channel === 'presence-room' && m.event.startsWith('pusher_internal:member'),
        )
        .map((m) => [m.event, m.data]),
    }).toEqual({
      roster: {
        count: 2,
        members: { watcher: { name: 'Watcher' }, '2': { name: 'Two' } },
        me: { id: '2', info: { name: 'Two' } },
      },
      // The socket now speaks for user 2, so user 1's departure is final at once (no grace).
      watcherHeard: [
        ['pusher_internal:member_added', { user_id: '1', user_info: { name: 'One' } }],
        ['pusher_internal:member_removed', { user_id: '1' }],
        ['pusher_internal:member_added', { user_id: '2', user_info: { name: 'Two' } }],
      ],
    })
  })

  it('9: after signin(), a presence subscription without channel_data joins as the signed-in user', async () => {
    const { addresses } = await startTestGateway()
    const port = addresses.http.port
    const zoe = { name: 'Zoe' }
    const other = createPusherClient(port, testApp, presenceAs('7', { name: 'Ola' }))
    await subscribed(other, 'presence-lobby')
    const added = nextEvent(other, 'presence-lobby', 'pusher:member_added')

    // The backend signs socket_id:channel only (no presenceData): pusher-js then waits for the
    // sign-in and takes its own id from user_data (§0.20).
    const client = createPusherClientWith(port, testApp, {
      authorize: sdkAuthorize,
      authenticate: signInAs('42', { user_info: zoe }),
    })
    const user = signedIn(client)
    const lobby = await subscribed(client, 'presence-lobby')
    expect(await user).toEqual({ id: '42', user_info: zoe })
    expect(roster(lobby)).toEqual({
      count: 2,
      members: { '7': { name: 'Ola' }, '42': zoe },
      me: { id: '42', info: zoe },
    })
    expect(await added).toEqual({ id: '42', info: zoe })

    // Without sign-in the same signature is not enough (pusher-js would not even send it).
    const raw = await openRawPusherSocket(port, testApp.key)
    const socketId = socketIdOf(await raw.frames.next())
    raw.ws.send(
      JSON.stringify({
        event: 'pusher:subscribe',
        data: {
          channel: 'presence-lobby',
          auth: backend.authorizeChannel(socketId, 'presence-lobby').auth,
        },
      }),
    )
    expect(await raw.frames.next()).toMatchObject({
      event: 'pusher:subscription_error',
      channel: 'presence-lobby',
    })
  })

  it('10: the member past the limit and an over-size user object are rejected', async () => {
    const target = await startTestGateway({ pusher: { maxPresenceMembers: 3 } })
    const port = target.addresses.http.port
    const first = createPusherClient(port, testApp, presenceAs('u1'))
    const firstSeen = recordMessages(first)
    await subscribed(first, 'presence-full')
    await subscribed(createPusherClient(port, testApp, presenceAs('u2')), 'presence-full')
    await subscribed(createPusherClient(port, testApp, presenceAs('u3')), 'presence-full')
    // Another tab of a present user is not a new member.
    const secondTab = await subscribed(
      createPusherClient(port, testApp, presenceAs('u1')),
      'presence-full',
    )
    expect(roster(secondTab).count).toBe(3)

    const fourth = createPusherClient(port, testApp, presenceAs('u4'))
    expect(await subscriptionFails(fourth, 'presence-full')).toEqual({
      type: 'LimitReached',
      error: 'presence-full already has 3 members',
      status: 403,
    })
    const marker = nextEvent(first, 'presence-full', 'marker')
    await trigger(target, 'presence-full', 'marker', {})
    await marker
    expect(framesOn(firstSeen, 'presence-full', 'pusher_internal:member_added')).toEqual([
      { user_id: 'u2' },
      { user_id: 'u3' },
    ])

    // 1 KB user object limit (pusher.maxPresenceMemberBytes, default 1024).
    const verbose = createPusherClient(
      port,
      testApp,
      presenceAs('u5', { name: 'Verbose', bio: 'x'.repeat(1024) }),
    )
    expect(await subscriptionFails(verbose, 'presence-big')).toEqual({
      type: 'InvalidChannelData',
      error: 'channel_data is larger than 1024 bytes',
      status: 400,
    })
    expect(verbose.connection.state).toBe('connected')
    const modest = createPusherClient(port, testApp, presenceAs('u6', { bio: 'x'.repeat(900) }))
    expect(roster(await subscribed(modest, 'presence-big')).count).toBe(1)
  })

  describe('11: client events', () => {
    const withClientEvents = (clientEventsPerSecond = 10) =>
      startTestGateway({
        apps: [{ ...testApp, clientEvents: true }],
        pusher: { clientEventsPerSecond },
      })

    it('reach the other subscribers, are not echoed, and carry user_id on presence channels only', async () => {
      const target = await withClientEvents()
      const port = target.addresses.http.port
      const sender = createPusherClient(port, testApp, presenceAs('s1', { name: 'Sam' }))
      const receiver = createPusherClient(port, testApp, presenceAs('r1', { name: 'Rae' }))
      const senderSeen = recordMessages(sender)
      const receiverSeen = recordMessages(receiver)
      const senderRoom = await subscribed(sender, 'presence-chat')
      const receiverRoom = await subscribed(receiver, 'presence-chat')
      const senderPrivate = await subscribed(sender, 'private-chat')
      await subscribed(receiver, 'private-chat')

      const typing = new Promise<unknown[]>((resolve) =>
        receiverRoom.bind('client-typing', (...args: unknown[]) => resolve(args)),
      )
      senderRoom.trigger('client-typing', { on: true })
      expect(await typing).toEqual([{ on: true }, { user_id: 's1' }])
      const note = nextEvent(receiver, 'private-chat', 'client-note')
      senderPrivate.trigger('client-note', { text: 'hi' })
      expect(await note).toEqual({ text: 'hi' })

      const markers = Promise.all([
        nextEvent(sender, 'presence-chat', 'marker'),
        nextEvent(sender, 'private-chat', 'marker'),
      ])
      await trigger(target, 'presence-chat', 'marker', {})
      await trigger(target, 'private-chat', 'marker', {})
      await markers
      expect(senderSeen.map((m) => m.event)).not.toContain('client-typing')
      expect(senderSeen.map((m) => m.event)).not.toContain('client-note')
      expect(receiverSeen.filter((m) => m.event.startsWith('client-'))).toEqual([
        {
          event: 'client-typing',
          channel: 'presence-chat',
          data: { on: true },
          user_id: 's1',
        },
        { event: 'client-note', channel: 'private-chat', data: { text: 'hi' } },
      ])
    })

    it('are rejected with 4301 on public and encrypted channels and when not subscribed', async () => {
      const target = await withClientEvents()
      const port = target.addresses.http.port
      const sender = createPusherClient(port, testApp)
      const receiver = createPusherClient(port, testApp)
      const errors = recordErrors(sender)
      const receiverSeen = recordMessages(receiver)
      const news = await subscribed(sender, 'news')
      await subscribed(receiver, 'news')
      await subscribed(receiver, 'private-elsewhere')

      const senderSeen = recordMessages(sender)
      news.trigger('client-shout', { loud: true }) // pusher-js lets this through; the server must not
      sender.send_event('client-peek', {}, 'private-elsewhere')
      await roundTrip(sender)
      expect(senderSeen.filter((m) => m.event === 'pusher:error').map((m) => m.data)).toEqual([
        {
          code: 4301,
          message: 'Client events are only allowed on private and presence channels, not news',
        },
        {
          code: 4301,
          message: 'Subscribe to private-elsewhere before sending client events on it',
        },
      ])

      // pusher-js refuses client events on encrypted channels itself, so a raw client that did
      // subscribe (the server only sees a private-style signature) sends one.
      const raw = await openRawPusherSocket(port, testApp.key)
      const socketId = socketIdOf(await raw.frames.next())
      const channel = 'private-encrypted-vault'
      raw.ws.send(
        JSON.stringify({
          event: 'pusher:subscribe',
          data: {
            channel,
            auth: `${testApp.key}:${hmacHex(testApp.secret, channelStringToSign(socketId, channel))}`,
          },
        }),
      )
      expect(await raw.frames.next()).toMatchObject({
        event: 'pusher_internal:subscription_succeeded',
        channel,
      })
      raw.ws.send(JSON.stringify({ event: 'client-x', channel, data: { nonce: 'n' } }))
      raw.ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }))
      expect(await raw.frames.next()).toEqual({
        event: 'pusher:error',
        data: {
          code: 4301,
          message: `Client events are only allowed on private and presence channels, not ${channel}`,
        },
      })
      expect(await raw.frames.next()).toMatchObject({ event: 'pusher:pong' })

      const markers = Promise.all([
        nextEvent(receiver, 'news', 'marker'),
        nextEvent(receiver, 'private-elsewhere', 'marker'),
      ])
      await trigger(target, 'news', 'marker', {})
      await trigger(target, 'private-elsewhere', 'marker', {})
      await markers
      expect(receiverSeen.filter((m) => m.event.startsWith('client-'))).toEqual([])
      expect(errors.every((e) => e.type === 'PusherError')).toBe(true)
      expect(sender.connection.state).toBe('connected')
    })

    it('past the rate limit get 4301 "rate limit" frames and the socket stays connected', async () => {
      const target = await withClientEvents(5)
      const port = target.addresses.http.port
      const sender = createPusherClient(port, testApp)
      const receiver = createPusherClient(port, testApp)
      const senderSeen = recordMessages(sender)
      const receiverSeen = recordMessages(receiver)
      const senderChat = await subscribed(sender, 'private-chat')
      await subscribed(receiver, 'private-chat')
      const socketId = sender.connection.socket_id

      for (let i = 0; i < 8; i++) senderChat.trigger('client-tick', { i })
      await roundTrip(sender)
      const marker = nextEvent(receiver, 'private-chat', 'marker')
      await trigger(target, 'private-chat', 'marker', {})
      await marker

      expect(senderSeen.filter((m) => m.event === 'pusher:error').map((m) => m.data)).toEqual(
        Array(3).fill({ code: 4301, message: 'Client event rejected due to rate limit' }),
      )
      expect(receiverSeen.filter((m) => m.event === 'client-tick').map((m) => m.data)).toEqual(
        [0, 1, 2, 3, 4].map((i) => ({ i })),
      )
      // Still the same connection (the round trip above went through it).
      expect(sender.connection.state).toBe('connected')
      expect(sender.connection.socket_id).toBe(socketId)
    })
  })

  it('22: a cache channel replays the last event to a new subscriber, or sends pusher:cache_miss', async () => {
    const target = await startTestGateway()
    const port = target.addresses.http.port
    const early = createPusherClient(port, testApp)
    const earlySeen = recordMessages(early)
    await subscribed(early, 'cache-btc')
    const marker = nextEvent(early, 'cache-btc', 'marker')
    await trigger(target, 'cache-btc', 'marker', {})
    await marker
    expect(earlySeen.filter((m) => m.channel === 'cache-btc').map((m) => m.event)).toEqual([
      'pusher_internal:subscription_succeeded',
      'pusher:cache_miss',
      'marker',
    ])

    const live = nextEvent(early, 'cache-btc', 'price')
    await trigger(target, 'cache-btc', 'price', { v: 1 })
    expect(await live).toEqual({ v: 1 })
    await trigger(target, 'cache-btc', 'price', { v: 2 })

    const late = createPusherClient(port, testApp)
    const lateSeen = recordMessages(late)
    const missed = new Promise<unknown>((resolve) =>
      late.subscribe('cache-btc').bind('price', resolve),
    )
    expect(await missed).toEqual({ v: 2 })
    expect(lateSeen.filter((m) => m.channel === 'cache-btc').map((m) => m.event)).toEqual([
      'pusher_internal:subscription_succeeded',
      'price',
    ])
    // The cache is per channel, and private-cache works the same way.
    const privateClient = createPusherClient(port, testApp, sdkAuthorize)
    const miss = new Promise<void>((resolve) =>
      privateClient.subscribe('private-cache-ledger').bind('pusher:cache_miss', () => resolve()),
    )
    await miss
  })

  it('23: watchlist: online when a watched user signs in, offline only after its last socket closes', async () => {
    const grace = 0.05
    const { addresses } = await startTestGateway({ pusher: { presenceGracePeriod: grace } })
    const port = addresses.http.port
    const watcher = createPusherClientWith(port, testApp, {
      authenticate: signInAs('w-1', { watchlist: ['bob'] }),
      authorize: presenceAs('w-1'),
    })
    const events = new Inbox<unknown>()
    watcher.user.watchlist.bind('online', events.push)
    watcher.user.watchlist.bind('offline', events.push)
    await signedIn(watcher)
    expect(await events.next()).toEqual({ name: 'offline', user_ids: ['bob'] })
    await subscribed(watcher, 'presence-sig')

    const bob1 = createPusherClientWith(port, testApp, {
      authenticate: signInAs('bob'),
      authorize: presenceAs('bob'),
    })
    await signedIn(bob1)
    expect(await events.next()).toEqual({ name: 'online', user_ids: ['bob'] })
    const bob2 = createPusherClientWith(port, testApp, { authenticate: signInAs('bob') })
    await signedIn(bob2)
    await subscribed(bob1, 'presence-sig')

    // Bob's first socket closes. Its presence-sig leave is timed after the server signed it out,
    // so the watcher's member_removed comes after any (wrong) offline would have.
    const sig = nextEvent(watcher, 'presence-sig', 'pusher:member_removed')
    bob1.disconnect()
    await sig
    expect(events.items).toEqual([
      { name: 'offline', user_ids: ['bob'] },
      { name: 'online', user_ids: ['bob'] },
    ])

    bob2.disconnect()
    expect(await events.next()).toEqual({ name: 'offline', user_ids: ['bob'] })
  })

  describe('§8 sign-in', () => {
    it('delivers #server-to-user-{id} events to every socket of that user and to no one else', async () => {
      const target = await startTestGateway()
      const port = target.addresses.http.port
      const tabs = [
        createPusherClientWith(port, testApp, { authenticate: signInAs('u-77') }),
        createPusherClientWith(port, testApp, { authenticate: signInAs('u-77') }),
      ]
      const stranger = createPusherClientWith(port, testApp, { authenticate: signInAs('u-78') })
      for (const client of [...tabs, stranger]) {
        const stream = nextMessage(
          client,
          (m) =>
            m.event === 'pusher_internal:subscription_succeeded' &&
            m.channel?.startsWith('#server-to-user-') === true,
        )
        await signedIn(client)
        await stream
      }
      const received = tabs.map(
        (tab) => new Promise<unknown>((resolve) => tab.user.bind('order-ready', resolve)),
      )
      const strangerSaw: unknown[] = []
      stranger.user.bind('order-ready', (data: unknown) => strangerSaw.push(data))
      await trigger(target, '#server-to-user-u-77', 'order-ready', { id: 7 })
      expect(await Promise.all(received)).toEqual([{ id: 7 }, { id: 7 }])

      const strangerMarker = new Promise((resolve) => stranger.user.bind('marker', resolve))
      await trigger(target, '#server-to-user-u-78', 'marker', {})
      await strangerMarker
      expect(strangerSaw).toEqual([])

      // No one subscribes to another user's stream.
      const raw = await openRawPusherSocket(port, testApp.key)
      await raw.frames.next()
      raw.ws.send(
        JSON.stringify({ event: 'pusher:subscribe', data: { channel: '#server-to-user-u-77' } }),
      )
      expect(await raw.frames.next()).toMatchObject({
        event: 'pusher:subscription_error',
        channel: '#server-to-user-u-77',
      })
    })

    it('a forged sign-in is refused with 4009 and pusher-js stays disconnected', async () => {
      const { addresses } = await startTestGateway()
      const proxy = await startTcpProxy(addresses.http.port)
      const client = createPusherClientWith(proxy.port, testApp, {
        authenticate: (params, callback) =>
          signInAs('u-1')(params, (error, data) =>
            callback(error, data ? { ...data, auth: tamper(data.auth) } : data),
          ),
      })
      await connected(client)
      const errors = recordErrors(client)
      client.signin()
      await reachedState(client, 'disconnected')
      expect(errors).toContainEqual({
        type: 'PusherError',
        data: { code: 4009, message: 'Invalid signature for pusher:signin' },
      })
      expect(errors).toContainEqual(
        expect.objectContaining({
          type: 'WebSocketError',
          error: expect.objectContaining({ data: expect.objectContaining({ code: 4009 }) }),
        }),
      )
      expect(proxy.connections).toHaveLength(1)
    })

    it('authorized connections: a socket that does not sign in within the timeout is closed with 4009 and not retried', async () => {
      const { addresses } = await startTestGateway({
        apps: [{ ...testApp, userAuthenticationTimeout: 1 }],
      })
      const proxy = await startTcpProxy(addresses.http.port)
      const signer = createPusherClientWith(proxy.port, testApp, { authenticate: signInAs('u-1') })
      await signedIn(signer)
      const signerSocketId = signer.connection.socket_id

      const idle = createPusherClient(proxy.port, testApp)
      const errors = recordErrors(idle)
      const states = recordStates(idle)
      await reachedState(idle, 'disconnected')
      expect(errors).toContainEqual({
        type: 'PusherError',
        data: { code: 4009, message: 'Connection not authorized within timeout' },
      })
      expect(errors).toContainEqual({
        type: 'WebSocketError',
        error: {
          type: 'PusherError',
          data: { code: 4009, message: 'Connection not authorized within timeout' },
        },
      })
      expect(states).toEqual(['connected', 'disconnected'])
      expect(proxy.connections).toHaveLength(2)

      // The signer's own deadline passed before the idle socket's: it is still on its first socket.
      await subscribed(signer, 'news')
      expect(signer.connection.state).toBe('connected')
      expect(signer.connection.socket_id).toBe(signerSocketId)
    })
  })
})
