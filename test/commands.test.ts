import { spawn } from 'node:child_process'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { connectAs, mqttUrl, provision } from './support/device.js'
import { connected, createPusherClient, nextEvent, subscribed } from './support/pusher.js'
import { pusherServer } from './support/pusher-server.js'
import { needTool } from './support/system-tool.js'
import { startTestGateway, testApp } from './support/test-gateway.js'

interface Command {
  id: string
  name: string
  args: unknown
  issuedAt: number
  expiresAt?: number
}

function nextMessage(client: mqtt.MqttClient): Promise<{ topic: string; command: Command }> {
  return new Promise((resolve) =>
    client.once('message', (topic, payload) =>
      resolve({ topic, command: JSON.parse(payload.toString()) as Command }),
    ),
  )
}

describe('commands: channel events to devices, acks back (default contract)', () => {
  it('turns a REST command.{name} into a command envelope on the device topic, and the ack into command.ack', async () => {
    const target = await startTestGateway()
    const device = await connectAs(target, 'pi-c', await provision(target, 'pi-c'))
    await device.subscribeAsync('devices/pi-c/commands/#', { qos: 1 })
    const arrived = nextMessage(device)
    const before = Date.now()
    await pusherServer(target, testApp).trigger('private-device-pi-c', 'command.reboot', {
      delay: 5,
    })
    const { topic, command } = await arrived
    expect(topic).toBe('devices/pi-c/commands/reboot')
    expect(command).toMatchObject({ name: 'reboot', args: { delay: 5 } })
    expect(command.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(command.issuedAt).toBeGreaterThanOrEqual(before)

    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-c')
    const ack = nextEvent(browser, 'private-device-pi-c', 'command.ack')
    await device.publishAsync(`devices/pi-c/acks/${command.id}`, '{"status":"ok"}', { qos: 1 })
    expect(await ack).toMatchObject({
      deviceId: 'pi-c',
      topic: `devices/pi-c/acks/${command.id}`,
      data: { status: 'ok' },
    })
  })

  it('turns a browser client event client-command.{name} into a command', async () => {
    const target = await startTestGateway({ apps: [{ ...testApp, clientEvents: true }] })
    const device = await connectAs(target, 'pi-d', await provision(target, 'pi-d'))
    await device.subscribeAsync('devices/pi-d/commands/+', { qos: 1 })
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await connected(browser)
    const channel = await subscribed(browser, 'private-device-pi-d')
    const arrived = nextMessage(device)
    channel.trigger('client-command.light', { on: true })
    const { topic, command } = await arrived
    expect(topic).toBe('devices/pi-d/commands/light')
    expect(command).toMatchObject({ name: 'light', args: { on: true } })
  })

  it('queues a command for an offline device with a persistent session', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'pi-e')
    const first = await connectAs(target, 'pi-e', secret, { clean: false })
    await first.subscribeAsync('devices/pi-e/commands/#', { qos: 1 })
    await first.endAsync()
    await pusherServer(target, testApp).trigger('private-device-pi-e', 'command.update', {
      to: '1.2.3',
    })
    const again = mqtt.connect(mqttUrl(target), {
      clientId: 'pi-e',
      username: 'pi-e',
      password: secret,
      clean: false,
      reconnectPeriod: 0,
    })
    const { command } = await nextMessage(again)
    expect(command).toMatchObject({ name: 'update', args: { to: '1.2.3' } })
    await again.endAsync()
  })

  it('never sends another app’s command to a device', async () => {
    const other = { id: 'app-2', key: 'app-key-2', secret: 'app-secret-2' }
    const target = await startTestGateway({ apps: [testApp, other] })
    const device = await connectAs(
      target,
      'pi-f',
      await provision(target, 'pi-f', { appId: testApp.id }),
    )
    await device.subscribeAsync('devices/pi-f/commands/#', { qos: 1 })
    const received: string[] = []
    const marker = new Promise<void>((resolve) =>
      device.on('message', (topic) => {
        received.push(topic)
        if (topic.endsWith('/marker')) resolve()
      }),
    )
    await pusherServer(target, other).trigger('private-device-pi-f', 'command.unlock', {})
    await pusherServer(target, testApp).trigger('private-device-pi-f', 'command.marker', {})
    await marker
    expect(received).toEqual(['devices/pi-f/commands/marker'])
  })

  it('delivers a command to mosquitto_sub', async (context) => {
    needTool(context, 'mosquitto_sub', 'mosquitto-clients')
    const target = await startTestGateway()
    const secret = await provision(target, 'mcu-c')
    // A persistent session first, so the command waits for mosquitto_sub whenever it subscribes.
    const seed = await connectAs(target, 'mcu-c', secret, { clean: false })
    await seed.subscribeAsync('devices/mcu-c/commands/#', { qos: 1 })
    await seed.endAsync()
    await pusherServer(target, testApp).trigger('private-device-mcu-c', 'command.blink', {
      times: 3,
    })
    const sub = spawn('mosquitto_sub', [
      ...[
        '-h',
        '127.0.0.1',
        '-p',
        String(target.addresses.mqtt.port),
        '-i',
        'mcu-c',
        '-u',
        'mcu-c',
        '-P',
        secret,
      ],
      ...['-c', '-q', '1', '-t', 'devices/mcu-c/commands/#', '-C', '1', '-v'],
    ])
    let out = ''
    sub.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    expect(await new Promise((resolve) => sub.on('close', resolve))).toBe(0)
    const [topic, json] = [out.slice(0, out.indexOf(' ')), out.slice(out.indexOf(' ') + 1)]
    expect(topic).toBe('devices/mcu-c/commands/blink')
    expect(JSON.parse(json)).toMatchObject({ name: 'blink', args: { times: 3 } })
  })
})
