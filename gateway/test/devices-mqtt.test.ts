import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { closed, connectAs, mqttUrl, provision, refusalCode } from '../../test/support/device.js'
import { createPusherClient, subscribed } from '../../test/support/pusher.js'
import { testBackend } from '../../test/support/pusher-server.js'
import { spawnCli } from '../../test/support/spawn-cli.js'
import { needTool } from '../../test/support/system-tool.js'
import { startTestGateway, type TestGateway, testApp } from '../../test/support/test-gateway.js'
import { selfSignedCertificate } from '../../test/support/tls.js'
import { rotateDevice } from '../src/fleet/device-admin.js'
import { openStore } from '../src/store/open-store.js'

const backend = testBackend

/** A dashboard in pusher-js watching presence-devices. */
async function dashboard(target: TestGateway) {
  const client = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
    callback(
      null,
      backend.authorizeChannel(params.socketId, params.channelName, { user_id: 'dashboard' }),
    ),
  )
  const channel = await subscribed(client, 'presence-devices')
  const events: Array<[string, unknown]> = []
  const waiters: Array<() => void> = []
  for (const name of ['pusher:member_added', 'pusher:member_removed']) {
    channel.bind(name, (member: { id: string; info: unknown }) => {
      events.push([name.slice('pusher:'.length), member])
      waiters.shift()?.()
    })
  }
  return {
    channel,
    events,
    /** Resolves once `count` member events in all have arrived. */
    until: (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (events.length >= count ? resolve() : waiters.push(check))
        check()
      }),
  }
}

function cli(target: TestGateway, ...args: string[]) {
  return spawnCli(args, { FLEETCAST_STORE__PATH: target.storePath })
}

describe('device registry and credentials', () => {
  it('lets the old secret log in during the rotation overlap, and only the new one after a plain rotation', async () => {
    const target = await startTestGateway()
    const old = await provision(target, 'pi-1')
    const { secret: fresh } = await rotateDevice(target.gateway.store, 'pi-1', 60)
    const url = mqttUrl(target)
    for (const secret of [old, fresh]) {
      const client = await connectAs(target, 'pi-1', secret)
      await client.endAsync()
    }
    const { secret: newest } = await rotateDevice(target.gateway.store, 'pi-1', 0)
    expect(await refusalCode(url, { clientId: 'pi-1', username: 'pi-1', password: old })).toBe(4)
    expect(await refusalCode(url, { clientId: 'pi-1', username: 'pi-1', password: fresh })).toBe(4)
    await (await connectAs(target, 'pi-1', newest)).endAsync()
  })

  it('closes a live connection when `fleetcast devices revoke` runs against the store, and refuses it after', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'pi-2')
    const client = await connectAs(target, 'pi-2', secret)
    const gone = closed(client)
    const run = cli(target, 'devices', 'revoke', 'pi-2')
    expect(await run.exited).toBe(0)
    await gone
    const url = mqttUrl(target)
    expect(await refusalCode(url, { clientId: 'pi-2', username: 'pi-2', password: secret })).toBe(5)
    const rotated = cli(target, 'devices', 'rotate', 'pi-2', '--json')
    expect(await rotated.exited).toBe(0)
    const { secret: fresh } = JSON.parse(rotated.stdout()) as { secret: string }
    await (await connectAs(target, 'pi-2', fresh)).endAsync()
  })

  it('closes a live connection on `devices disable` and admits it again after `devices enable`', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'pi-3')
    const client = await connectAs(target, 'pi-3', secret)
    const gone = closed(client)
    expect(await cli(target, 'devices', 'disable', 'pi-3').exited).toBe(0)
    await gone
    expect(
      await refusalCode(mqttUrl(target), { clientId: 'pi-3', username: 'pi-3', password: secret }),
    ).toBe(5)
    expect(await cli(target, 'devices', 'enable', 'pi-3').exited).toBe(0)
    await (await connectAs(target, 'pi-3', secret)).endAsync()
  })

  it('names an unknown device and a bad duration on the CLI', async () => {
    const target = await startTestGateway()
    const unknown = cli(target, 'devices', 'revoke', 'nope')
    expect(await unknown.exited).toBe(4)
    expect(unknown.stderr()).toContain('Device "nope" does not exist')
    await provision(target, 'pi-4')
    const badDuration = cli(target, 'devices', 'rotate', 'pi-4', '--overlap', 'soon')
    expect(await badDuration.exited).toBe(2)
    expect(badDuration.stderr()).toContain('expected a duration like 90s, 15m, 2h or 7d')
  })

  it('bans a device id after repeated wrong secrets, even with the right one, and records the failures', async () => {
    const target = await startTestGateway({
      mqtt: { loginFailures: { limit: 3, window: 60, ban: 60, maxBan: 60 } },
    })
    const secret = await provision(target, 'pi-5')
    const url = mqttUrl(target)
    for (let i = 0; i < 3; i++) {
      expect(
        await refusalCode(url, { clientId: 'pi-5', username: 'pi-5', password: 'wrong' }),
      ).toBe(4)
    }
    expect(await refusalCode(url, { clientId: 'pi-5', username: 'pi-5', password: secret })).toBe(5)
    const failures = target.gateway.store.audit.query({ action: 'device.login', target: 'pi-5' })
    expect(failures.filter((f) => f.detail?.reason === 'wrong secret')).toHaveLength(3)
    expect(failures.every((f) => f.result === 'refused')).toBe(true)
  })
})

describe('failed logins per address', () => {
  it('bans an address after repeated failures across device ids', async () => {
    const target = await startTestGateway({
      mqtt: { loginFailures: { limit: 3, window: 60, ban: 60, maxBan: 60 } },
    })
    const secret = await provision(target, 'good-1')
    const url = mqttUrl(target)
    for (const id of ['guess-1', 'guess-2', 'guess-3']) {
      expect(await refusalCode(url, { clientId: id, username: id, password: 'x' })).toBe(4)
    }
    // The same address, now with a real device and its right secret: still banned.
    expect(
      await refusalCode(url, { clientId: 'good-1', username: 'good-1', password: secret }),
    ).toBe(5)
    const failures = target.gateway.store.audit.query({ action: 'device.login', limit: 3 })
    expect(failures.map((f) => f.actor)).toEqual([
      'address:127.0.0.1',
      'address:127.0.0.1',
      'address:127.0.0.1',
    ])
  })
})

describe('presence of devices', () => {
  it('shows a device in presence-devices while any of its connections is up, across a takeover', async () => {
    const target = await startTestGateway()
    const watcher = await dashboard(target)
    const secret = await provision(target, 'thermo-9', { name: 'Boiler', tags: { site: 'lab' } })
    const first = await connectAs(target, 'thermo-9', secret)
    await watcher.until(1)
    expect(watcher.events).toEqual([
      ['member_added', { id: 'thermo-9', info: { name: 'Boiler', tags: { site: 'lab' } } }],
    ])
    // Takeover [MQTT-3.1.4-2]: the same client id again closes the first connection.
    const firstClosed = closed(first)
    const second = await connectAs(target, 'thermo-9', secret)
    await firstClosed
    // Still online: a later device joining is the next member event, not a removal.
    const other = await connectAs(target, 'other-1', await provision(target, 'other-1'))
    await watcher.until(2)
    expect(watcher.events[1]).toEqual(['member_added', expect.objectContaining({ id: 'other-1' })])
    await second.endAsync()
    await watcher.until(3)
    expect(watcher.events[2]).toEqual([
      'member_removed',
      expect.objectContaining({ id: 'thermo-9' }),
    ])
    expect(target.gateway.store.devices.find('thermo-9')?.lastSeenAt).toBeGreaterThan(0)
    await other.endAsync()
  })
})

describe('shutdown', () => {
  it('records last seen for devices still connected when the gateway closes', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'pi-close')
    const client = await connectAs(target, 'pi-close', secret)
    const gone = closed(client)
    const seenAtLogin = target.gateway.store.devices.find('pi-close')?.lastSeenAt ?? 0
    // The disconnect must fall in a later millisecond than the login to be told apart.
    while (Date.now() <= seenAtLogin) await new Promise((resolve) => setImmediate(resolve))
    // The close handler runs a turn after aedes destroys the socket; the store must still be open.
    await target.gateway.close()
    await gone
    const store = openStore(target.storePath)
    try {
      expect(store.devices.find('pi-close')?.lastSeenAt).toBeGreaterThan(seenAtLogin)
    } finally {
      store.close()
    }
  })
})

describe('listeners', () => {
  it('serves MQTT over WebSocket at /mqtt on the HTTP port', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'web-1')
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${target.addresses.http.port}/mqtt`, {
      clientId: 'web-1',
      username: 'web-1',
      password: secret,
      reconnectPeriod: 0,
    })
    expect(client.connected).toBe(true)
    await client.endAsync()
    // A refused login over WebSocket is recorded with the peer's address, as over TCP.
    const wsUrl = `ws://127.0.0.1:${target.addresses.http.port}/mqtt`
    expect(await refusalCode(wsUrl, { clientId: 'web-1', username: 'web-1', password: 'x' })).toBe(
      4,
    )
    expect(target.gateway.store.audit.query({ target: 'web-1', result: 'refused' })).toEqual([
      expect.objectContaining({ actor: 'address:127.0.0.1', action: 'device.login' }),
    ])
  })

  it('serves MQTT over TLS with the configured certificate', async (context) => {
    const { cert, key } = selfSignedCertificate(context)
    const target = await startTestGateway({ mqtt: { tls: { port: 0, cert, key } } })
    const secret = await provision(target, 'tls-1')
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${target.addresses.mqttTls?.port}`, {
      clientId: 'tls-1',
      username: 'tls-1',
      password: secret,
      ca: readFileSync(cert),
      reconnectPeriod: 0,
    })
    expect(client.connected).toBe(true)
    await client.endAsync()
  })
})

describe('bad input on the MQTT port', () => {
  it('closes connections that send garbage, oversize packets or too-deep topics; others keep flowing', async () => {
    const target = await startTestGateway({ mqtt: { maxPacketBytes: 4096, maxTopicLevels: 5 } })
    const bystander = await connectAs(target, 'calm-1', await provision(target, 'calm-1'))
    await bystander.subscribeAsync('devices/calm-1/commands/#')

    const garbage = connect(target.addresses.mqtt.port, '127.0.0.1')
    const garbageClosed = new Promise<void>((resolve) => garbage.once('close', () => resolve()))
    garbage.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    await garbageClosed

    const big = await connectAs(target, 'big-1', await provision(target, 'big-1'))
    const bigClosed = closed(big)
    big.publish('devices/big-1/events/blob', Buffer.alloc(8192, 1), { qos: 0 })
    await bigClosed

    const deep = await connectAs(target, 'deep-1', await provision(target, 'deep-1'))
    const granted = await deep.subscribeAsync('devices/deep-1/commands/a/b/c/d').then(
      () => undefined,
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
    )
    expect(granted).toEqual([128])
    const deepClosed = closed(deep)
    deep.publish('devices/deep-1/events/a/b/c', '{}', { qos: 0 })
    await deepClosed

    await bystander.publishAsync('devices/calm-1/events/ok', '{}', { qos: 1 })
    expect(bystander.connected).toBe(true)
  })

  it('disconnects a QoS 2 flood that never sends PUBREL', async () => {
    const target = await startTestGateway({ mqtt: { maxInflightInbound: 5 } })
    const flooder = await connectAs(target, 'flood-2', await provision(target, 'flood-2'))
    const gone = closed(flooder)
    // mqtt.js answers PUBREC with PUBREL; dropping its outgoing PUBRELs leaves them unreleased.
    const stream = (flooder as unknown as { stream: { write: (chunk: Buffer) => boolean } }).stream
    const write = stream.write.bind(stream)
    stream.write = (chunk: Buffer) => ((chunk[0] ?? 0) >> 4 === 6 ? true : write(chunk))
    for (let i = 0; i < 10; i++) flooder.publish('devices/flood-2/events/x', '{}', { qos: 2 })
    await gone
  })

  it('lets anonymous clients in with any id and every topic only when allowAnonymous is set', async () => {
    const closedTarget = await startTestGateway()
    expect(await refusalCode(mqttUrl(closedTarget), { clientId: 'whoever' })).toBe(4)
    const open = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const client = await mqtt.connectAsync(mqttUrl(open), {
      clientId: 'whoever',
      reconnectPeriod: 0,
    })
    const granted = await client.subscribeAsync('#')
    expect(granted.map((g) => g.qos)).toEqual([0])
    await client.publishAsync('any/topic/at/all', 'x', { qos: 1 })
    await client.endAsync()
  })

  it('applies a custom ACL with deviceId placeholders', async () => {
    const target = await startTestGateway()
    const self = '$' + '{deviceId}' // the ACL placeholder, written out literally
    const acl = { publish: [`sensors/${self}/#`], subscribe: [`config/${self}`] }
    const client = await connectAs(target, 'acl-1', await provision(target, 'acl-1', { acl }))
    await client.publishAsync('sensors/acl-1/temp', '21', { qos: 1 })
    expect((await client.subscribeAsync('config/acl-1')).map((g) => g.qos)).toEqual([0])
    const refused = await client.subscribeAsync('devices/acl-1/commands/#').then(
      () => undefined,
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
    )
    expect(refused).toEqual([128])
    const gone = closed(client)
    client.publish('devices/acl-1/events/x', '{}')
    await gone
  })
})

describe('mosquitto clients', () => {
  it('logs in with mosquitto_sub, is refused with a wrong secret, and receives what it may', async (context) => {
    needTool(context, 'mosquitto_sub', 'mosquitto-clients')
    // Anonymous clients are allowed here only to plant a retained command; devices still log in.
    const target = await startTestGateway({ mqtt: { allowAnonymous: true } })
    const secret = await provision(target, 'mcu-1')
    const port = String(target.addresses.mqtt.port)
    const run = (args: string[]) => {
      const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, ...args])
      let out = ''
      let err = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
      })
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString()
      })
      return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        child.on('close', (code) => resolve({ code, out, err })),
      )
    }
    const refused = await run([
      '-i',
      'mcu-1',
      '-u',
      'mcu-1',
      '-P',
      'bad',
      '-t',
      'devices/mcu-1/commands/#',
    ])
    expect(refused.code).not.toBe(0)
    expect(refused.err).toMatch(/bad user name or password/i)

    const planter = await mqtt.connectAsync(mqttUrl(target), {
      clientId: 'planter',
      reconnectPeriod: 0,
    })
    await planter.publishAsync('devices/mcu-1/commands/reboot', '{"in":5}', {
      qos: 1,
      retain: true,
    })
    await planter.endAsync()
    const received = await run([
      '-i',
      'mcu-1',
      '-u',
      'mcu-1',
      '-P',
      secret,
      '-t',
      'devices/mcu-1/commands/#',
      '-C',
      '1',
      '-q',
      '1',
      '-v',
    ])
    expect(received.code).toBe(0)
    expect(received.out).toBe('devices/mcu-1/commands/reboot {"in":5}\n')
  })
})
