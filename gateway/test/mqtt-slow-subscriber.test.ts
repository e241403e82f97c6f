import { connect, type Socket } from 'node:net'
import mqtt from 'mqtt'
import { generate } from 'mqtt-packet'
import { describe, expect, it, onTestFinished } from 'vitest'
import { mqttUrl, provision } from '../../test/support/device.js'
import { createPusherClient, subscribed } from '../../test/support/pusher.js'
import { testBackend } from '../../test/support/pusher-server.js'
import { startTestGateway, testApp } from '../../test/support/test-gateway.js'

/** A subscriber that subscribes to `filter` at `qos` and then never reads again. */
async function stuckSubscriber(
  port: number,
  filter: string,
  qos: 0 | 1 = 0,
  login?: { username: string; password: string },
): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' })
  onTestFinished(() => {
    socket.destroy()
  })
  await new Promise((resolve) => socket.once('connect', resolve))
  const credentials = login && { username: login.username, password: Buffer.from(login.password) }
  const clientId = login?.username ?? 'stuck'
  socket.write(generate({ cmd: 'connect', clientId, clean: true, keepalive: 0, ...credentials }))
  socket.write(
    generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }),
  )
  // Wait for the SUBACK (CONNACK is 4 bytes, SUBACK 5), then stop reading for good.
  let read = 0
  await new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      read += chunk.length
      if (read >= 9) resolve()
    }),
  )
  socket.removeAllListeners('data')
  socket.pause()
  return socket
}

describe('a subscriber that stops reading', () => {
  it('loses its own QoS 0 messages and delays nobody else', async () => {
    // Anonymous mode gives every client every topic; drainTimeout (30 s) is longer than the test.
    const target = await startTestGateway({ mqtt: { allowAnonymous: true, drainTimeout: 30 } })
    await stuckSubscriber(target.addresses.mqtt.port, 'load/#')
    const healthy = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
    onTestFinished(() => {
      healthy.end(true)
    })
    await healthy.subscribeAsync('load/#', { qos: 0 })
    const count = 300
    const payload = Buffer.alloc(100_000, 0x61) // 30 MB in all: far past any socket buffer
    const received = new Promise<number>((resolve) => {
      let n = 0
      healthy.on('message', () => {
        n += 1
        if (n === count) resolve(n)
      })
    })
    const publisher = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
    onTestFinished(() => {
      publisher.end(true)
    })
    for (let i = 0; i < count; i++) publisher.publish('load/x', payload, { qos: 0 })
    expect(await received).toBe(count)
    const metrics = await (
      await fetch(`http://127.0.0.1:${target.addresses.http.port}/metrics`)
    ).text()
    expect(metrics).toMatch(/drops_total\{reason="slow_consumer"\} [1-9]/)
  })

  it('holds nobody else up while its QoS 1 messages wait in its buffer', async () => {
    // aedes waits for a full socket to drain before it calls a delivery done; that wait held every
    // other subscriber's messages for the whole drainTimeout (30 s, longer than this test may run).
    const target = await startTestGateway({ mqtt: { allowAnonymous: true, drainTimeout: 30 } })
    await stuckSubscriber(target.addresses.mqtt.port, 'load/#', 1)
    const healthy = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
    onTestFinished(() => {
      healthy.end(true)
    })
    await healthy.subscribeAsync('load/#', { qos: 0 })
    const received = receive(healthy, 400)
    const publisher = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
    onTestFinished(() => {
      publisher.end(true)
    })
    // 40 MB: past the kernel's and the stream's buffers of the stuck socket.
    for (let i = 0; i < 400; i++) publisher.publish('load/x', PAYLOAD, { qos: 1 })
    expect(await received).toBe(400)
    // All of it arrived while the stuck subscriber was still connected (stuck, healthy, publisher).
    const metrics = await (
      await fetch(`http://127.0.0.1:${target.addresses.http.port}/metrics`)
    ).text()
    expect(metrics).toMatch(/^fleetcast_connections\{edge="mqtt"\} 3$/m)
  })

  it('is disconnected once its buffer has stayed full for mqtt.drainTimeout', async () => {
    const target = await startTestGateway({ mqtt: { allowAnonymous: true, drainTimeout: 1 } })
    const secret = await provision(target, 'stuck-dev', {
      acl: { publish: [], subscribe: ['load/#'] },
    })
    const dashboard = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
      callback(
        null,
        testBackend.authorizeChannel(params.socketId, params.channelName, { user_id: 'dash' }),
      ),
    )
    const devices = await subscribed(dashboard, 'presence-devices')
    const removed = new Promise<string>((resolve) =>
      devices.bind('pusher:member_removed', (member: { id: string }) => resolve(member.id)),
    )
    await stuckSubscriber(target.addresses.mqtt.port, 'load/#', 1, {
      username: 'stuck-dev',
      password: secret,
    })
    const publisher = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
    onTestFinished(() => {
      publisher.end(true)
    })
    for (let i = 0; i < 400; i++) publisher.publish('load/x', PAYLOAD, { qos: 1 })
    // The device's presence ends when the gateway closes its connection.
    expect(await removed).toBe('stuck-dev')
  })
})

const PAYLOAD = Buffer.alloc(100_000, 0x61)

/** Resolves to `count` once `client` has received that many messages. */
function receive(client: mqtt.MqttClient, count: number): Promise<number> {
  return new Promise((resolve) => {
    let n = 0
    client.on('message', () => {
      n += 1
      if (n === count) resolve(n)
    })
  })
}
