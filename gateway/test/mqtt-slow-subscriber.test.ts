import { connect } from 'node:net'
import mqtt from 'mqtt'
import { generate } from 'mqtt-packet'
import { describe, expect, it, onTestFinished } from 'vitest'
import { mqttUrl } from '../../test/support/device.js'
import { startTestGateway } from '../../test/support/test-gateway.js'

/** A subscriber that subscribes to `filter` at QoS 0 and then never reads again. */
async function stuckSubscriber(port: number, filter: string): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' })
  onTestFinished(() => {
    socket.destroy()
  })
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(generate({ cmd: 'connect', clientId: 'stuck', clean: true, keepalive: 0 }))
  socket.write(
    generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] }),
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
})
