import mqtt, { type IClientOptions } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { connectDevice, mqttUrl, refusalCode } from '../../test/support/device.js'
import { captureLog } from '../../test/support/log-capture.js'
import { startTestGateway, type TestGateway } from '../../test/support/test-gateway.js'
import { provisionDevice } from '../src/fleet/provision-device.js'

async function refusalCodeOf(
  target: TestGateway,
  options: IClientOptions,
): Promise<number | undefined> {
  return refusalCode(mqttUrl(target), options)
}

describe('device authentication over MQTT', () => {
  it('refuses wrong credentials with the CONNACK code for each case and keeps serving others', async () => {
    // A high failure limit: this test is about return codes, not the login throttle.
    const target = await startTestGateway({ mqtt: { loginFailures: { limit: 100 } } })
    const { secret } = await provisionDevice(target.gateway.store, { id: 'sensor-1' })
    const as = (clientId: string, username?: string, password?: string): IClientOptions => ({
      clientId,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    })
    expect(await refusalCodeOf(target, as('sensor-1', 'sensor-1', 'wrong-secret'))).toBe(4)
    expect(await refusalCodeOf(target, as('sensor-1', 'nobody', secret))).toBe(2)
    expect(await refusalCodeOf(target, as('nobody', 'nobody', secret))).toBe(4)
    expect(await refusalCodeOf(target, as('sensor-1'))).toBe(4)
    expect(await refusalCodeOf(target, as('sensor-1', 'sensor-1', ''))).toBe(4)

    const good = await mqtt.connectAsync(mqttUrl(target), {
      ...as('sensor-1', 'sensor-1', secret),
      reconnectPeriod: 0,
    })
    expect(good.connected).toBe(true)
    await good.endAsync()
  })

  it('refuses an MQTT 5 CONNECT with "unacceptable protocol version" and says why in the log', async () => {
    const captured = captureLog()
    const target = await startTestGateway({}, { log: captured.log })
    const { secret } = await provisionDevice(target.gateway.store, { id: 'v5-device' })
    const code = await refusalCodeOf(target, {
      clientId: 'v5-device',
      username: 'v5-device',
      password: secret,
      protocolVersion: 5,
    })
    expect(code).toBe(1)
    const line = await captured.waitFor((l) =>
      String(l.msg).startsWith('refused an MQTT 5 CONNECT'),
    )
    expect(line).toMatchObject({ level: 40, clientId: 'v5-device' })
  })

  it('grants subscriptions to its own command topics and refuses others with SUBACK 0x80', async () => {
    const target = await startTestGateway()
    const client = await connectDevice(target, 'pi-1')
    const granted = await client.subscribeAsync(
      ['devices/pi-1/commands/#', 'devices/pi-1/commands/reboot'],
      { qos: 1 },
    )
    expect(granted.map((g) => g.qos)).toEqual([1, 1])
    const refused = await client
      .subscribeAsync(
        ['devices/pi-2/commands/#', 'devices/+/commands/#', '#', 'devices/pi-1/events/x', '$SYS/#'],
        {
          qos: 1,
        },
      )
      .then(
        () => undefined,
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
      )
    expect(refused).toEqual([128, 128, 128, 128, 128])
    expect(client.connected).toBe(true)
  })

  it('closes the connection of a device that publishes outside its own topics', async () => {
    const target = await startTestGateway()
    const client = await connectDevice(target, 'pi-1')
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    client.publish('devices/pi-2/events/spoof', '{}', { qos: 0 })
    await closed
    expect(client.connected).toBe(false)
  })
})
