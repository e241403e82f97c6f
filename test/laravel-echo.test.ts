/**
 * Laravel Echo 2 (the `reverb` broadcaster, i.e. pusher-js with `cluster: ''`, as a Laravel app's
 * resources/js/echo.js sets it up) against the gateway: pusher-protocol §13 and the client side
 * of §16 items 7 and 24. Channel auth is signed by the `pusher` server SDK, which is what
 * Laravel's PusherBroadcaster uses behind /broadcasting/auth.
 */
import Echo from 'laravel-echo'
import PusherJs from 'pusher-js'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { createPusherClient } from './support/pusher.js'
import { testBackend } from './support/pusher-server.js'
import { startTestGateway, type TestGateway, testApp } from './support/test-gateway.js'

type Authorize = NonNullable<Parameters<typeof createPusherClient>[2]>

const backend = testBackend

const privateAuth: Authorize = ({ socketId, channelName }, callback) =>
  callback(null, backend.authorizeChannel(socketId, channelName))

/** /broadcasting/auth for a presence channel: Laravel returns the user's id and info. */
function presenceAs(user: { id: number; name: string }): Authorize {
  return ({ socketId, channelName }, callback) =>
    callback(
      null,
      backend.authorizeChannel(socketId, channelName, {
        user_id: String(user.id),
        user_info: user,
      }),
    )
}

/** Echo configured like a Laravel app talking to Reverb, pointed at the gateway. */
function createEcho(port: number, authorize: Authorize): Echo<'reverb'> {
  const echo = new Echo({
    broadcaster: 'reverb',
    key: testApp.key,
    wsHost: '127.0.0.1',
    wsPort: port,
    wssPort: port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    // Echo's typings take pusher-js's module type, which under NodeNext is what a default import
    // gives at type level; at run time it is the class (see gateway/src/cli/pusher-js.ts).
    Pusher: PusherJs,
    // In a browser this is the POST to /broadcasting/auth; here the backend answers in-process.
    channelAuthorization: { customHandler: authorize },
  })
  onTestFinished(() => echo.disconnect())
  return echo
}

/** Resolves once Echo reports the channel subscribed; rejects on `.error()`. */
function whenSubscribed(channel: {
  subscribed(callback: CallableFunction): unknown
  error(callback: CallableFunction): unknown
}): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.subscribed(() => resolve())
    channel.error((status: unknown) =>
      reject(new Error(`subscription failed: ${JSON.stringify(status)}`)),
    )
  })
}

function listenOnce(
  channel: { listen(event: string, callback: CallableFunction): unknown },
  event: string,
): Promise<unknown> {
  return new Promise((resolve) => channel.listen(event, resolve))
}

/** What Laravel's broadcaster will do through the REST API: publish `data` (JSON) to a channel. */
async function broadcast(
  target: TestGateway,
  channel: string,
  event: string,
  data: unknown,
  exceptSocketId?: string,
): Promise<void> {
  // false would mean the app is over its message quota.
  const accepted: unknown = await target.gateway.channels.trigger({
    appId: testApp.id,
    channel,
    event,
    data: JSON.stringify(data),
    exceptSocketId,
  })
  expect(accepted).not.toBe(false)
}

describe('Laravel Echo 2 against the gateway', () => {
  it('.private().listen() receives App\\Events\\* events on a dotted channel name, and .listen(".name") raw names', async () => {
    const target = await startTestGateway()
    const echo = createEcho(target.addresses.http.port, privateAuth)
    const orders = echo.private('orders.7')
    await whenSubscribed(orders)

    const shipped = listenOnce(orders, 'OrderShipped')
    const nested = listenOnce(orders, 'Orders.Refunded')
    const custom = listenOnce(orders, '.custom')
    await broadcast(target, 'private-orders.7', 'App\\Events\\OrderShipped', { order: { id: 7 } })
    await broadcast(target, 'private-orders.7', 'App\\Events\\Orders\\Refunded', { amount: 12 })
    await broadcast(target, 'private-orders.7', 'custom', { raw: true })
    expect(await shipped).toEqual({ order: { id: 7 } })
    expect(await nested).toEqual({ amount: 12 })
    expect(await custom).toEqual({ raw: true })
  })

  it('broadcast(...)->toOthers(): the socket named by X-Socket-ID is skipped, every other subscriber gets it', async () => {
    const target = await startTestGateway()
    const port = target.addresses.http.port
    const sender = createEcho(port, privateAuth)
    const other = createEcho(port, privateAuth)
    const senderOrders = sender.private('orders.7')
    const otherOrders = other.private('orders.7')
    await Promise.all([whenSubscribed(senderOrders), whenSubscribed(otherOrders)])
    const senderSaw: unknown[] = []
    senderOrders.listen('OrderShipped', (data: unknown) => senderSaw.push(data))

    const received = listenOnce(otherOrders, 'OrderShipped')
    const socketId = sender.socketId()
    expect(socketId).toMatch(/^\d+\.\d+$/)
    await broadcast(target, 'private-orders.7', 'App\\Events\\OrderShipped', { id: 7 }, socketId)
    expect(await received).toEqual({ id: 7 })
    const marker = listenOnce(senderOrders, '.marker')
    await broadcast(target, 'private-orders.7', 'marker', {})
    await marker
    expect(senderSaw).toEqual([])
  })

  it('.error() receives the pusher:subscription_error of a bad signature', async () => {
    const target = await startTestGateway()
    const forged: Authorize = (params, callback) =>
      privateAuth(params, (error, data) =>
        callback(error, data ? { ...data, auth: `${data.auth.slice(0, -4)}beef` } : data),
      )
    const echo = createEcho(target.addresses.http.port, forged)
    const status = await new Promise((resolve, reject) => {
      const channel = echo.private('orders.8')
      channel.error(resolve)
      channel.subscribed(() => reject(new Error('a forged signature was accepted')))
    })
    expect(status).toEqual({
      type: 'AuthError',
      error: 'Invalid signature for private-orders.8',
      status: 401,
    })
    expect(echo.connectionStatus()).toBe('connected')
  })

  it('.join() reports .here(), .joining() and .leaving() across two Echo instances', async () => {
    const target = await startTestGateway({
      apps: [{ ...testApp, clientEvents: true }],
      pusher: { presenceGracePeriod: 0 },
    })
    const port = target.addresses.http.port
    const ada = { id: 1, name: 'Ada' }
    const bob = { id: 2, name: 'Bob' }
    const adaEcho = createEcho(port, presenceAs(ada))
    const adaRoom = adaEcho.join('room')
    expect(await new Promise((resolve) => adaRoom.here(resolve))).toEqual([ada])

    const joining = new Promise((resolve) => adaRoom.joining(resolve))
    const bobEcho = createEcho(port, presenceAs(bob))
    const bobRoom = bobEcho.join('room')
    expect(await new Promise((resolve) => bobRoom.here(resolve))).toEqual([ada, bob])
    expect(await joining).toEqual(bob)

    // A whisper on a presence channel names its sender (user_id) for the listeners.
    const whispered = new Promise((resolve) =>
      adaRoom.listenForWhisper('typing', (...args: unknown[]) => resolve(args)),
    )
    bobRoom.whisper('typing', { typing: true })
    expect(await whispered).toEqual([{ typing: true }, { user_id: '2' }])

    const leaving = new Promise((resolve) => adaRoom.leaving(resolve))
    bobEcho.leave('room')
    expect(await leaving).toEqual(bob)
  })

  it('.whisper() reaches the other client through .listenForWhisper() and not the sender', async () => {
    const target = await startTestGateway({ apps: [{ ...testApp, clientEvents: true }] })
    const port = target.addresses.http.port
    const alice = createEcho(port, privateAuth)
    const bob = createEcho(port, privateAuth)
    const aliceChat = alice.private('chat.1')
    const bobChat = bob.private('chat.1')
    await Promise.all([whenSubscribed(aliceChat), whenSubscribed(bobChat)])
    const aliceHeard: unknown[] = []
    aliceChat.listenForWhisper('typing', (data: unknown) => aliceHeard.push(data))

    const heard = new Promise((resolve) => bobChat.listenForWhisper('typing', resolve))
    aliceChat.whisper('typing', { name: 'Alice' })
    expect(await heard).toEqual({ name: 'Alice' })

    const marker = listenOnce(aliceChat, '.marker')
    await broadcast(target, 'private-chat.1', 'marker', {})
    await marker
    expect(aliceHeard).toEqual([])
  })
})
