import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { captureIo } from '../../test/support/cli-io.js'
import { connectAs, provision } from '../../test/support/device.js'
import { createPusherClient, nextEvent, subscribed } from '../../test/support/pusher.js'
import { startTestGateway, tempDir, testApp } from '../../test/support/test-gateway.js'
import { runCli } from '../src/cli/main.js'
import { bridgeSchema } from '../src/config/bridge-schema.js'
import { loadConfig } from '../src/config/load.js'

const self = '$' + '{deviceId}'
const telemetryRule = {
  name: 'telemetry',
  match: 'devices/+deviceId/telemetry/+metric',
  channel: 'private-site-${device.tags.site}',
  event: 'telemetry.${metric}',
  wrap: true,
  continue: true,
}
const rawRule = {
  name: 'raw',
  match: 'devices/+deviceId/#rest',
  channel: `private-device-${self}`,
  event: 'raw',
}

describe('bridge uplink rules end to end', () => {
  it('maps by rule, with captures, device tags, wrapping and continue', async () => {
    const target = await startTestGateway({ bridge: { uplink: [telemetryRule, rawRule] } })
    const device = await connectAs(
      target,
      'pi-t',
      await provision(target, 'pi-t', { tags: { site: 'lab' } }),
    )
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-site-lab')
    await subscribed(browser, 'private-device-pi-t')
    const telemetry = nextEvent(browser, 'private-site-lab', 'telemetry.cpu')
    const raw = nextEvent(browser, 'private-device-pi-t', 'raw')
    await device.publishAsync('devices/pi-t/telemetry/cpu', '41.5', { qos: 1 })
    expect(await telemetry).toMatchObject({
      deviceId: 'pi-t',
      topic: 'devices/pi-t/telemetry/cpu',
      data: 41.5,
    })
    expect(await raw).toBe(41.5)
  })

  it('drops oversize and wrong-mode payloads, counts them, and keeps the device connected', async () => {
    const target = await startTestGateway({
      bridge: {
        uplink: [
          {
            name: 'json-only',
            match: 'devices/+deviceId/events/+event',
            channel: `private-device-${self}`,
            event: '${event}',
            payload: 'json',
          },
        ],
      },
    })
    const device = await connectAs(target, 'pi-o', await provision(target, 'pi-o'))
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-o')
    const received: string[] = []
    const marker = new Promise<void>((resolve) =>
      browser.channel('private-device-pi-o').bind_global((event: string) => {
        if (event.startsWith('pusher:')) return
        received.push(event)
        if (event === 'marker') resolve()
      }),
    )
    await device.publishAsync(
      'devices/pi-o/events/big',
      JSON.stringify({ pad: 'x'.repeat(11_000) }),
      { qos: 1 },
    )
    await device.publishAsync('devices/pi-o/events/binary', Buffer.from([0xff, 0xfe]), { qos: 1 })
    await device.publishAsync('devices/pi-o/events/text', 'not json', { qos: 1 })
    await device.publishAsync('devices/pi-o/events/marker', '{}', { qos: 1 })
    await marker
    expect(received).toEqual(['marker'])
    expect(device.connected).toBe(true)
    const metrics = await (
      await fetch(`http://127.0.0.1:${target.addresses.http.port}/metrics`)
    ).text()
    expect(metrics).toMatch(/^fleetcast_drops_total\{reason="oversize"\} 1$/m)
    expect(metrics).toMatch(/^fleetcast_drops_total\{reason="bridge_unrenderable"\} 2$/m)
  })

  it('renders a device event only when someone hears its channel, and counts it toward the quota either way', async () => {
    const target = await startTestGateway({ apps: [{ ...testApp, maxMessagesPerDay: 2 }] })
    const device = await connectAs(target, 'pi-q', await provision(target, 'pi-q'))
    // Nobody subscribes to the channel yet: the payload is not read, so no oversize drop, but
    // the publish counts (Pusher counts a publish whether or not anyone is subscribed).
    await device.publishAsync(
      'devices/pi-q/events/big',
      JSON.stringify({ pad: 'x'.repeat(11_000) }),
      {
        qos: 1,
      },
    )
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-q')
    const first = nextEvent(browser, 'private-device-pi-q', 'first')
    await device.publishAsync('devices/pi-q/events/first', '{"n":1}', { qos: 1 })
    expect(await first).toEqual({ n: 1 })
    // The PUBACK comes after the bridge has mapped the publish.
    await device.publishAsync('devices/pi-q/events/second', '{"n":2}', { qos: 1 })
    const metrics = await (
      await fetch(`http://127.0.0.1:${target.addresses.http.port}/metrics`)
    ).text()
    expect(metrics).toMatch(/^fleetcast_drops_total\{reason="quota"\} 1$/m)
    expect(metrics).not.toMatch(/^fleetcast_drops_total\{reason="oversize"\}/m)
  })

  it('throttles per channel and event, sending the latest value', async () => {
    const target = await startTestGateway({
      bridge: {
        uplink: [
          {
            name: 'gauge',
            match: 'devices/+deviceId/gauge',
            channel: `private-device-${self}`,
            event: 'gauge',
            throttle: 300,
          },
        ],
      },
    })
    const device = await connectAs(target, 'pi-g', await provision(target, 'pi-g'))
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-g')
    const values: unknown[] = []
    const second = new Promise<void>((resolve) =>
      browser.channel('private-device-pi-g').bind('gauge', (data: unknown) => {
        values.push(data)
        if (values.length === 2) resolve()
      }),
    )
    for (let i = 0; i < 5; i++)
      await device.publishAsync('devices/pi-g/gauge', String(i), { qos: 1 })
    await second
    expect(values).toEqual([0, 4])
  })

  it('refuses invalid rules at load, naming each rule path', () => {
    expect(() =>
      loadConfig({
        env: {},
        overrides: {
          bridge: {
            uplink: [{ name: 'bad', match: 'devices/#x/y', channel: 'c', event: 'e' }],
            downlink: [
              {
                name: 'worse',
                channel: 'private-x',
                event: 'command.${name}',
                topic: 'devices/${nope}',
              },
            ],
          },
        },
      }),
    ).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          /bridge\.uplink\[0\]\.match: .*not a valid MQTT filter[\s\S]*bridge\.downlink\[0\]\.channel: .*must capture \$\{deviceId\}[\s\S]*bridge\.downlink\[0\]\.topic: \$\{nope\}/,
        ),
      }),
    )
  })
})

describe('retained device state and cache channels', () => {
  it('serves a device’s retained state to a dashboard opened later, also after a restart', async () => {
    const rules = {
      bridge: {
        uplink: [
          {
            name: 'state',
            match: 'devices/+deviceId/state',
            channel: `private-cache-device-${self}`,
            event: 'state',
          },
        ],
      },
    }
    const first = await startTestGateway(rules)
    const device = await connectAs(first, 'pi-k', await provision(first, 'pi-k'))
    await device.publishAsync('devices/pi-k/state', '{"door":"open"}', { qos: 1, retain: true })
    const late = createPusherClient(first.addresses.http.port, testApp)
    late.subscribe('private-cache-device-pi-k')
    expect(await nextEvent(late, 'private-cache-device-pi-k', 'state')).toEqual({ door: 'open' })
    await device.endAsync()
    late.disconnect()
    await first.gateway.close()

    const second = await startTestGateway({ ...rules, store: { path: first.storePath } })
    const afterRestart = createPusherClient(second.addresses.http.port, testApp)
    afterRestart.subscribe('private-cache-device-pi-k')
    expect(await nextEvent(afterRestart, 'private-cache-device-pi-k', 'state')).toEqual({
      door: 'open',
    })
  })
})

describe('rules on the command line and on SIGHUP', () => {
  it('`fleetcast rules test` shows what a publish would produce', async () => {
    const cli = captureIo({ FLEETCAST_STORE__PATH: join(tempDir(), 'f.db') })
    const code = await runCli(
      ['rules', 'test', '--topic', 'devices/pi-z/events/temp', '--payload', '{"c":21}'],
      cli.io,
    )
    expect(code).toBe(0)
    expect(JSON.parse(cli.stdout())).toEqual({
      device: { id: 'pi-z', known: false },
      events: [
        { rule: 'device-events', channel: 'private-device-pi-z', event: 'temp', data: { c: 21 } },
      ],
      dropped: [],
    })
  })

  it('`fleetcast --url ... rules test` asks the running gateway, whose reloaded rules win', async () => {
    const target = await startTestGateway()
    await provision(target, 'pi-r', { tags: { site: 'lab' } })
    const url = `http://127.0.0.1:${target.addresses.http.port}`
    const { bearer } = target.gateway.store.tokens.create({ kind: 'admin', appId: null })
    const dryRun = async (...args: string[]) => {
      const cli = captureIo({})
      const code = await runCli(['--url', url, '--token', bearer, 'rules', 'test', ...args], cli.io)
      return { code, out: cli.stdout(), err: cli.stderr() }
    }
    target.gateway.reloadBridge(
      bridgeSchema.parse({ uplink: [{ ...telemetryRule, continue: false }] }),
    )
    const answer = await dryRun('--topic', 'devices/pi-r/telemetry/cpu', '--payload', '41.5')
    expect(answer.code).toBe(0)
    expect(JSON.parse(answer.out)).toMatchObject({
      device: { id: 'pi-r', known: true },
      events: [{ rule: 'telemetry', channel: 'private-site-lab', event: 'telemetry.cpu' }],
      dropped: [],
    })

    // A token scoped to another app may not dry-run as this app's device.
    const other = target.gateway.store.apps.create({
      ...target.gateway.store.apps.get(testApp.id),
      id: 'app-other',
      key: 'key-other',
    })
    const scoped = target.gateway.store.tokens.create({ kind: 'admin', appId: other.id })
    const cli = captureIo({})
    const refused = await runCli(
      ['--url', url, '--token', scoped.bearer, 'rules', 'test', '--topic', 'devices/pi-r/events/x'],
      cli.io,
    )
    expect(refused).toBe(6)
    expect(cli.stderr()).toContain('outside app app-other')

    const missingTopic = await fetch(`${url}/admin/v1/rules/test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payload: "x' OR 1=1 --", extra: true }),
    })
    expect(missingTopic.status).toBe(400)
    expect(((await missingTopic.json()) as { code: string }).code).toBe('FC_ERR_REQUEST_INVALID')
  })

  it('swaps rules on reload without dropping connections, and keeps them when the new ones are bad', async () => {
    const dir = tempDir()
    const file = join(dir, 'fleetcast.yaml')
    const base = `http: {host: 127.0.0.1, port: 0}\nmqtt: {host: 127.0.0.1, port: 0}\nstore: {path: ${join(dir, 'f.db')}}\nlog: {level: info, format: json}\napps: [{id: ${testApp.id}, key: ${testApp.key}, secret: ${testApp.secret}}]\n`
    writeFileSync(file, base)
    const cli = captureIo({})
    const exit = runCli(['--config', file, 'start'], cli.io)
    await cli.stdoutIncludes('fleetcast listening')
    const listening = JSON.parse(
      cli
        .stdout()
        .split('\n')
        .find((l) => l.includes('fleetcast listening')) ?? '{}',
    ) as {
      http: { port: number }
      mqtt: { port: number }
    }
    const added = captureIo({})
    expect(await runCli(['--config', file, 'devices', 'add', 'pi-h', '--json'], added.io)).toBe(0)
    const { secret } = JSON.parse(added.stdout()) as { secret: string }
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${listening.mqtt.port}`, {
      clientId: 'pi-h',
      username: 'pi-h',
      password: secret,
      reconnectPeriod: 0,
    })
    const browser = createPusherClient(listening.http.port, testApp)
    await subscribed(browser, 'private-device-pi-h')

    writeFileSync(
      file,
      `${base}bridge:\n  uplink:\n    - {name: renamed, match: "devices/+deviceId/events/+event", channel: "private-device-\${deviceId}", event: "renamed.\${event}"}\n`,
    )
    cli.reload()
    await cli.stdoutIncludes('bridge rules reloaded')
    const renamed = nextEvent(browser, 'private-device-pi-h', 'renamed.temp')
    await device.publishAsync('devices/pi-h/events/temp', '1', { qos: 1 })
    expect(await renamed).toBe(1)

    writeFileSync(
      file,
      `${base}bridge:\n  uplink:\n    - {name: broken, match: "a/#b/c", channel: c, event: e}\n`,
    )
    cli.reload()
    await cli.stdoutIncludes('bridge rules not reloaded, the running ones stay')
    const still = nextEvent(browser, 'private-device-pi-h', 'renamed.temp')
    await device.publishAsync('devices/pi-h/events/temp', '2', { qos: 1 })
    expect(await still).toBe(2)
    expect(device.connected).toBe(true)
    await device.endAsync()
    cli.stop()
    expect(await exit).toBe(0)
  })
})
