import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { CommandDropped } from '../device-sdk/src/index.js'
import { mqttUrl, provision } from './support/device.js'
import { closedPort, nextDeviceEvent, recordEvents, testDevice } from './support/device-sdk.js'
import { createPusherClient, nextEvent, subscribed } from './support/pusher.js'
import { pusherServer } from './support/pusher-server.js'
import { startTcpProxy } from './support/tcp-proxy.js'
import { startTestGateway, tempDir, testApp } from './support/test-gateway.js'

interface AckEvent {
  deviceId: string
  topic: string
  data: { id: string; status: string; result?: unknown; error?: { code: string; message: string } }
}

/** An anonymous MQTT client (mqtt.allowAnonymous) that can write any device's command topic. */
async function commandInjector(target: Awaited<ReturnType<typeof startTestGateway>>) {
  const client = await mqtt.connectAsync(mqttUrl(target), { reconnectPeriod: 0 })
  return {
    send: (deviceId: string, envelope: Record<string, unknown> | string) =>
      client.publishAsync(
        `devices/${deviceId}/commands/${typeof envelope === 'string' ? 'reboot' : envelope.name}`,
        typeof envelope === 'string' ? envelope : JSON.stringify(envelope),
        { qos: 1 },
      ),
    close: () => client.endAsync(),
  }
}

describe('device SDK commands against a real gateway', () => {
  it('round-trips a REST command to the handler and its ack to pusher-js as command.ack', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-cmd')
    const device = testDevice({ url: mqttUrl(target), deviceId: 'sdk-cmd', secret })
    const calls: unknown[] = []
    device.onCommand<{ delay: number }>('reboot', async (args, context) => {
      calls.push([args, context.name, typeof context.id])
      return { rebooting: true, in: args.delay }
    })
    device.onCommand('fail', () => {
      throw Object.assign(new Error('relay stuck'), { code: 'relay_stuck' })
    })
    const received = nextDeviceEvent(device, 'command')
    const connected = nextDeviceEvent(device, 'connected')
    await device.start()
    await connected
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-cmd')
    const acks = recordEvents(browser, 'private-device-sdk-cmd', 'command.ack')
    const backend = pusherServer(target, testApp)

    await backend.trigger('private-device-sdk-cmd', 'command.reboot', { delay: 5 })
    const command = await received
    expect(command).toMatchObject({ name: 'reboot', args: { delay: 5 } })
    await acks.until((a) => a.length >= 1)
    expect(acks.received[0]).toMatchObject({
      deviceId: 'sdk-cmd',
      topic: `devices/sdk-cmd/acks/${command.id}`,
      data: { id: command.id, status: 'ok', result: { rebooting: true, in: 5 } },
    })
    expect(calls).toEqual([[{ delay: 5 }, 'reboot', 'string']])

    await backend.trigger('private-device-sdk-cmd', 'command.fail', {})
    await backend.trigger('private-device-sdk-cmd', 'command.selfdestruct', {})
    await acks.until((a) => a.length >= 3)
    const [failed, unknown] = acks.received.slice(1) as AckEvent[]
    expect(failed?.data).toMatchObject({
      status: 'error',
      error: { code: 'relay_stuck', message: 'relay stuck' },
    })
    expect(unknown?.data).toMatchObject({
      status: 'rejected',
      error: { code: 'unknown_command', message: expect.stringContaining('selfdestruct') },
    })
  })

  it('gets commands sent while it was offline (persistent session) and answers them', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-away')
    const dataDir = tempDir('fleetcast-sdk-away-')
    const first = testDevice({ url: mqttUrl(target), deviceId: 'sdk-away', secret, dataDir })
    const connected = nextDeviceEvent(first, 'connected')
    await first.start()
    await connected
    await first.close()

    await pusherServer(target, testApp).trigger('private-device-sdk-away', 'command.update', {
      to: '1.2.3',
    })
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-away')
    const ack = nextEvent(browser, 'private-device-sdk-away', 'command.ack')
    const again = testDevice({ url: mqttUrl(target), deviceId: 'sdk-away', secret, dataDir })
    again.onCommand<{ to: string }>('update', (args) => ({ updatedTo: args.to }))
    await again.start()
    expect(await ack).toMatchObject({ data: { status: 'ok', result: { updatedTo: '1.2.3' } } })
  })

  it('drops an expired command without running it, and says so in the ack', async () => {
    const target = await startTestGateway({
      bridge: {
        downlink: [
          {
            name: 'short-lived',
            channel: `private-device-\${deviceId}`,
            event: `command.\${command}`,
            topic: `devices/\${deviceId}/commands/\${command}`,
            expires: 60,
          },
        ],
      },
    })
    const secret = await provision(target, 'sdk-late')
    // The device's clock runs two minutes ahead: every 60 s command has expired on arrival.
    const device = testDevice({
      url: mqttUrl(target),
      deviceId: 'sdk-late',
      secret,
      clock: () => Date.now() + 120_000,
    })
    let ran = 0
    device.onCommand('open', () => {
      ran += 1
    })
    const dropped = nextDeviceEvent(device, 'command.dropped')
    const connected = nextDeviceEvent(device, 'connected')
    await device.start()
    await connected
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-late')
    const ack = nextEvent(browser, 'private-device-sdk-late', 'command.ack')
    await pusherServer(target, testApp).trigger('private-device-sdk-late', 'command.open', {})
    expect(await dropped).toMatchObject({ reason: 'expired', name: 'open' })
    expect(await ack).toMatchObject({ data: { status: 'rejected', error: { code: 'expired' } } })
    expect(ran).toBe(0)
  })

  it('runs a command once: a duplicate, also after a restart, gets the stored ack again', async () => {
    const target = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const secret = await provision(target, 'sdk-dup')
    const dataDir = tempDir('fleetcast-sdk-dup-')
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-dup')
    const acks = recordEvents(browser, 'private-device-sdk-dup', 'command.ack')
    let runs = 0
    const start = async () => {
      const device = testDevice({ url: mqttUrl(target), deviceId: 'sdk-dup', secret, dataDir })
      device.onCommand('reboot', () => {
        runs += 1
        return { run: runs }
      })
      const dropped: CommandDropped[] = []
      device.on('command.dropped', (d) => dropped.push(d))
      const connected = nextDeviceEvent(device, 'connected')
      await device.start()
      await connected
      return { device, dropped }
    }
    const injector = await commandInjector(target)
    const envelope = { id: 'cmd-42', name: 'reboot', args: {}, issuedAt: Date.now() }

    const first = await start()
    await injector.send('sdk-dup', envelope)
    await acks.until((a) => a.length >= 1)
    const duplicate = nextDeviceEvent(first.device, 'command.dropped')
    await injector.send('sdk-dup', envelope)
    expect(await duplicate).toMatchObject({ reason: 'duplicate', id: 'cmd-42' })
    await acks.until((a) => a.length >= 2)
    await first.device.close()

    const second = await start()
    const again = nextDeviceEvent(second.device, 'command.dropped')
    await injector.send('sdk-dup', envelope)
    expect(await again).toMatchObject({ reason: 'duplicate', id: 'cmd-42' })
    await acks.until((a) => a.length >= 3)
    expect(runs).toBe(1)
    expect((acks.received as AckEvent[]).map((a) => a.data)).toEqual([
      { id: 'cmd-42', status: 'ok', result: { run: 1 } },
      { id: 'cmd-42', status: 'ok', result: { run: 1 } },
      { id: 'cmd-42', status: 'ok', result: { run: 1 } },
    ])
    await injector.close()
  })

  it('drops malformed envelopes, and answers a slow handler with a timeout', async () => {
    const target = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const secret = await provision(target, 'sdk-odd')
    const device = testDevice({
      url: mqttUrl(target),
      deviceId: 'sdk-odd',
      secret,
      commands: { timeoutMs: 50 },
    })
    let aborted = false
    device.onCommand('reboot', () => 1)
    device.onCommand('dump', () => 'x'.repeat(11_000))
    device.onCommand('slow', (_args, { signal }) => {
      return new Promise((resolve) =>
        signal.addEventListener('abort', () => {
          aborted = true
          resolve('too late')
        }),
      )
    })
    const dropped: CommandDropped[] = []
    device.on('command.dropped', (d) => dropped.push(d))
    const connected = nextDeviceEvent(device, 'connected')
    await device.start()
    await connected
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-odd')
    const ack = nextEvent(browser, 'private-device-sdk-odd', 'command.ack')
    const injector = await commandInjector(target)
    await injector.send('sdk-odd', 'not json')
    await injector.send('sdk-odd', { id: 'a/b', name: 'reboot', issuedAt: 1 })
    await injector.send('sdk-odd', { id: 'x1', name: 'reboot' })
    await injector.send('sdk-odd', { id: 'x2', name: 'slow', args: null, issuedAt: Date.now() })
    expect(await ack).toMatchObject({
      data: { id: 'x2', status: 'error', error: { code: 'timeout' } },
    })
    expect(aborted).toBe(true)
    // A result the gateway could not pass to browsers is answered as an error instead.
    const tooBig = nextEvent(browser, 'private-device-sdk-odd', 'command.ack')
    await injector.send('sdk-odd', { id: 'x3', name: 'dump', issuedAt: Date.now() })
    expect(await tooBig).toMatchObject({
      data: { id: 'x3', status: 'error', error: { code: 'result_too_large' } },
    })
    expect(dropped.map((d) => [d.reason, d.detail])).toEqual([
      ['malformed', 'payload is not JSON'],
      ['malformed', expect.stringMatching(/^id must be/)],
      ['malformed', 'issuedAt must be a number'],
    ])
    await injector.close()
  })
})

describe('device SDK status: retained birth and will', () => {
  it('shows the last status on private-cache-device-{id}, online after connect and offline after close', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-status')
    const device = testDevice({
      url: mqttUrl(target),
      deviceId: 'sdk-status',
      secret,
      birth: { fw: '1.4.2' },
    })
    const connected = nextDeviceEvent(device, 'connected')
    await device.start()
    await connected
    await device.publish('marker', 1)
    expect(await device.flush()).toBe(true)
    // A dashboard opened later still gets the current status at once (retained + cache channel).
    const late = createPusherClient(target.addresses.http.port, testApp)
    late.subscribe('private-cache-device-sdk-status')
    const online = nextEvent(late, 'private-cache-device-sdk-status', 'status')
    expect(await online).toMatchObject({ online: true, fw: '1.4.2', sdk: expect.any(String) })

    const offline = nextEvent(late, 'private-cache-device-sdk-status', 'status')
    await device.close()
    expect(await offline).toMatchObject({ online: false, reason: 'closed' })
  })
})

describe('device SDK: wrong credentials', () => {
  it('reports CONNACK 4 as bad_credentials and waits the longest delay, not a hot loop', async () => {
    const target = await startTestGateway()
    await provision(target, 'sdk-wrong')
    const proxy = await startTcpProxy(target.addresses.mqtt.port)
    const device = testDevice({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      deviceId: 'sdk-wrong',
      secret: 'not-the-secret',
      backoff: { minDelayMs: 10, maxDelayMs: 60_000 },
    })
    const error = nextDeviceEvent(device, 'error')
    const reconnecting = nextDeviceEvent(device, 'reconnecting')
    await device.start()
    expect(await error).toMatchObject({
      name: 'DeviceError',
      code: 'bad_credentials',
      returnCode: 4,
      message: expect.stringContaining('CONNACK 4'),
    })
    expect(await reconnecting).toMatchObject({
      attempt: 1,
      delayMs: 60_000,
      reason: expect.stringContaining('wrong secret'),
    })
    expect(device.state).toBe('waiting')
    expect(proxy.connections).toHaveLength(1)
  })

  it('stops on CONNACK 5 (disabled device) with onAuthFailure: stop', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-off')
    target.gateway.store.devices.setEnabled('sdk-off', false)
    const device = testDevice({
      url: mqttUrl(target),
      deviceId: 'sdk-off',
      secret,
      onAuthFailure: 'stop',
    })
    let reconnects = 0
    device.on('reconnecting', () => {
      reconnects += 1
    })
    const stopped = nextDeviceEvent(device, 'stopped')
    await device.start()
    expect(await stopped).toMatchObject({ code: 'not_authorized', returnCode: 5 })
    expect(device.state).toBe('stopped')
    expect(reconnects).toBe(0)
    // Messages still queue durably while stopped; close reports them as pending.
    await device.publish('reading', { n: 1 })
    expect(await device.close({ timeoutMs: 100 })).toEqual({ flushed: false, pending: 1 })
  })

  it('asks the credentials provider again before each attempt, and connects once it has the secret', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-rotate')
    const answers: Array<() => string> = [
      () => {
        throw new Error('vault unreachable')
      },
      () => 'stale-secret',
      () => secret,
    ]
    let asked = 0
    const device = testDevice({
      url: mqttUrl(target),
      deviceId: 'sdk-rotate',
      credentials: async () => (answers[asked++] ?? (() => secret))(),
      backoff: { minDelayMs: 10, maxDelayMs: 50 },
    })
    const errors: string[] = []
    device.on('error', (e) => errors.push((e as { code?: string }).code ?? e.message))
    const connected = nextDeviceEvent(device, 'connected')
    await device.start()
    expect(await connected).toMatchObject({ attempt: 3 })
    expect(errors).toEqual(['credentials_unavailable', 'bad_credentials'])
    expect(asked).toBe(3)
  })

  it('keeps retrying a gateway that is not there with growing delays', async () => {
    const proxy = await startTcpProxy(await closedPort())
    const device = testDevice({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      deviceId: 'sdk-nowhere',
      secret: 'x',
      backoff: { minDelayMs: 5, maxDelayMs: 40, jitter: 'none' },
    })
    const delays: number[] = []
    const fifth = new Promise<void>((resolve) =>
      device.on('reconnecting', ({ attempt, delayMs }) => {
        delays.push(delayMs)
        if (attempt === 5) resolve()
      }),
    )
    await device.start()
    await fifth
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 40])
    expect(proxy.connections.length).toBeGreaterThanOrEqual(5)
  })
})
