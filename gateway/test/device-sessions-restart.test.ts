import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { connectAs, mqttUrl, provision } from '../../test/support/device.js'
import { startTestGateway } from '../../test/support/test-gateway.js'

describe('durable device sessions', () => {
  it('delivers a QoS 1 command queued for an offline device exactly once after a gateway restart', async () => {
    // Anonymous clients stand in for the backend until the bridge's downlink exists.
    const first = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const secret = await provision(first, 'pi-r')
    const session = { clean: false }
    const device = await connectAs(first, 'pi-r', secret, session)
    await device.subscribeAsync('devices/pi-r/commands/#', { qos: 1 })
    await device.endAsync()

    const backend = await mqtt.connectAsync(mqttUrl(first), {
      clientId: 'backend',
      reconnectPeriod: 0,
    })
    await backend.publishAsync('devices/pi-r/commands/reboot', '{"in":5}', { qos: 1 })
    await backend.publishAsync('devices/pi-r/status', 'online', { qos: 1, retain: true })
    await backend.endAsync()
    await first.gateway.close()

    const second = await startTestGateway({
      mqtt: { allowAnonymous: true },
      store: { path: first.storePath },
    })
    const received: string[] = []
    const client = mqtt.connect(mqttUrl(second), {
      clientId: 'pi-r',
      username: 'pi-r',
      password: secret,
      clean: false,
      reconnectPeriod: 0,
    })
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) =>
      client.once('connect', resolve),
    )
    expect(connack.sessionPresent).toBe(true)
    const marker = new Promise<void>((resolve) =>
      client.on('message', (topic, payload) => {
        received.push(`${topic} ${payload.toString()}`)
        if (topic.endsWith('/marker')) resolve()
      }),
    )
    // A later command is the marker: anything duplicated would arrive before it.
    const again = await mqtt.connectAsync(mqttUrl(second), {
      clientId: 'backend-2',
      reconnectPeriod: 0,
    })
    await again.publishAsync('devices/pi-r/commands/marker', '{}', { qos: 1 })
    await again.endAsync()
    await marker
    expect(received).toEqual([
      'devices/pi-r/commands/reboot {"in":5}',
      'devices/pi-r/commands/marker {}',
    ])
    await client.endAsync()

    const watcher = await mqtt.connectAsync(mqttUrl(second), {
      clientId: 'watcher',
      reconnectPeriod: 0,
    })
    const retained = new Promise<string>((resolve) =>
      watcher.once('message', (_t, payload) => resolve(payload.toString())),
    )
    await watcher.subscribeAsync('devices/pi-r/status')
    expect(await retained).toBe('online')
    await watcher.endAsync()
  })

  it('never delivers a stored message for a filter the ACL refused', async () => {
    const target = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const secret = await provision(target, 'pi-s')
    const device = await connectAs(target, 'pi-s', secret, { clean: false })
    // One SUBSCRIBE with an allowed and a refused filter: aedes keeps both in the session.
    await device
      .subscribeAsync({
        'devices/pi-s/commands/#': { qos: 1 },
        'devices/other/commands/#': { qos: 1 },
      })
      .catch(() => undefined)
    await device.endAsync()
    const backend = await mqtt.connectAsync(mqttUrl(target), {
      clientId: 'backend',
      reconnectPeriod: 0,
    })
    await backend.publishAsync('devices/other/commands/secret', 'leak', { qos: 1 })
    await backend.publishAsync('devices/pi-s/commands/ok', 'fine', { qos: 1 })
    await backend.endAsync()
    const received: string[] = []
    const client = mqtt.connect(mqttUrl(target), {
      clientId: 'pi-s',
      username: 'pi-s',
      password: secret,
      clean: false,
      reconnectPeriod: 0,
    })
    await new Promise<void>((resolve) =>
      client.on('message', (topic) => {
        received.push(topic)
        if (topic === 'devices/pi-s/commands/ok') resolve()
      }),
    )
    expect(received).toEqual(['devices/pi-s/commands/ok'])
    await client.endAsync()
  })
})
