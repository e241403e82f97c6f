import { spawn } from 'node:child_process'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { runCli } from '../gateway/src/cli/main.js'
import { captureIo } from './support/cli-io.js'
import { connected, createPusherClient, nextEvent, subscribed } from './support/pusher.js'
import { needTool } from './support/system-tool.js'
import { startTestGateway, testApp } from './support/test-gateway.js'

interface Provisioned {
  id: string
  appId: string
  secret: string
}

/** `fleetcast devices add <id> --json` against the gateway's own store file, as an operator would. */
async function provisionWithCli(storePath: string, id: string): Promise<Provisioned> {
  const cli = captureIo({ FLEETCAST_STORE__PATH: storePath })
  const code = await runCli(['devices', 'add', id, '--json'], cli.io)
  expect(cli.stderr()).toBe('')
  expect(code).toBe(0)
  return JSON.parse(cli.stdout()) as Provisioned
}

describe('first end-to-end path: device -> gateway -> browser', () => {
  it('delivers a device publish from mqtt.js to a pusher-js subscriber of private-device-{id}', async () => {
    const { addresses, storePath } = await startTestGateway()
    const device = await provisionWithCli(storePath, 'thermo-1')
    expect(device).toMatchObject({ id: 'thermo-1', appId: testApp.id })
    expect(device.secret).toMatch(/^[\w-]{43}$/)

    const browser = createPusherClient(addresses.http.port, testApp)
    await connected(browser)
    expect(browser.connection.socket_id).toMatch(/^\d+\.\d+$/)
    await subscribed(browser, 'private-device-thermo-1')
    const arrived = nextEvent(browser, 'private-device-thermo-1', 'temperature')

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${addresses.mqtt.port}`, {
      clientId: 'thermo-1',
      username: 'thermo-1',
      password: device.secret,
      reconnectPeriod: 0,
    })
    await client.publishAsync(
      'devices/thermo-1/events/temperature',
      JSON.stringify({ celsius: 21.5, ok: true }),
      {
        qos: 1,
      },
    )
    expect(await arrived).toEqual({ celsius: 21.5, ok: true })
    await client.endAsync()
  })

  it('delivers text and binary payloads as the topic contract says', async () => {
    const { addresses, storePath } = await startTestGateway()
    const device = await provisionWithCli(storePath, 'cam-1')
    const browser = createPusherClient(addresses.http.port, testApp)
    await subscribed(browser, 'private-device-cam-1')
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${addresses.mqtt.port}`, {
      clientId: 'cam-1',
      username: 'cam-1',
      password: device.secret,
      reconnectPeriod: 0,
    })
    const text = nextEvent(browser, 'private-device-cam-1', 'note')
    await client.publishAsync('devices/cam-1/events/note', 'door opened', { qos: 1 })
    expect(await text).toBe('door opened')

    const binary = nextEvent(browser, 'private-device-cam-1', 'frame')
    await client.publishAsync('devices/cam-1/events/frame', Buffer.from([0xff, 0xd8, 0xff, 0x00]), {
      qos: 1,
    })
    expect(await binary).toEqual({
      base64: Buffer.from([0xff, 0xd8, 0xff, 0x00]).toString('base64'),
    })
    await client.endAsync()
  })

  it('delivers a mosquitto_pub publish to pusher-js', async (context) => {
    needTool(context, 'mosquitto_pub', 'mosquitto-clients')
    const { addresses, storePath } = await startTestGateway()
    const device = await provisionWithCli(storePath, 'pi-7')
    const browser = createPusherClient(addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-7')
    const arrived = nextEvent(browser, 'private-device-pi-7', 'boot')
    const publisher = spawn('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(addresses.mqtt.port)],
      ...['-i', 'pi-7', '-u', 'pi-7', '-P', device.secret, '-q', '1'],
      ...['-t', 'devices/pi-7/events/boot', '-m', '{"uptime":3}'],
    ])
    const exitCode = await new Promise<number | null>((resolve) => publisher.on('close', resolve))
    expect(exitCode).toBe(0)
    expect(await arrived).toEqual({ uptime: 3 })
  })
})
