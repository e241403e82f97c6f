import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeviceError } from '../device-sdk/src/index.js'
import { mqttUrl, provision } from './support/device.js'
import { closedPort, nextDeviceEvent, recordEvents, testDevice } from './support/device-sdk.js'
import { createPusherClient, nextEvent, subscribed } from './support/pusher.js'
import { startTcpProxy } from './support/tcp-proxy.js'
import { startTestGateway, tempDir, testApp } from './support/test-gateway.js'

const reading = (data: unknown) => (data as { n: number }).n

describe('device SDK against a real gateway: the outbound queue', () => {
  it('publishes while the gateway is down, and delivers everything in order once it is up', async () => {
    // The device's URL points at a proxy whose target does not listen yet: the gateway is down.
    const proxy = await startTcpProxy(await closedPort())
    let secret = 'not provisioned yet'
    const device = testDevice({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      deviceId: 'sdk-offline',
      credentials: () => secret,
    })
    const failed = nextDeviceEvent(device, 'reconnecting')
    await device.start()
    for (let n = 1; n <= 30; n++) await device.publish('reading', { n })
    expect((await failed).reason).toMatch(/ECONNREFUSED|closed/)
    expect(device.queue.messages).toBe(30)
    expect(device.state).not.toBe('connected')

    const target = await startTestGateway()
    secret = await provision(target, 'sdk-offline')
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-offline')
    const readings = recordEvents(browser, 'private-device-sdk-offline', 'reading')
    const connected = nextDeviceEvent(device, 'connected')
    proxy.retarget(target.addresses.mqtt.port)
    expect((await connected).attempt).toBeGreaterThan(1)
    await readings.until((r) => r.length >= 30)
    expect(readings.received.map(reading)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(await device.flush(5000)).toBe(true)
    expect(device.queue).toEqual({ messages: 0, bytes: 0 })
  })

  it('resends what was in flight when the link dies, losing nothing, then drains on close', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-link')
    const proxy = await startTcpProxy(target.addresses.mqtt.port)
    const device = testDevice({
      url: `mqtt://127.0.0.1:${proxy.port}`,
      deviceId: 'sdk-link',
      secret,
      keepaliveSeconds: 1,
    })
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-link')
    const readings = recordEvents(browser, 'private-device-sdk-link', 'reading')
    const firstConnection = nextDeviceEvent(device, 'connected')
    await device.start()
    await firstConnection
    for (let n = 1; n <= 5; n++) await device.publish('reading', { n })
    await readings.until((r) => r.length >= 5)

    // The uplink goes silent (a dead NAT): keepalive notices, the SDK reconnects on its own.
    ;(await proxy.connection(0)).freezeUplink()
    const dropped = nextDeviceEvent(device, 'disconnected')
    for (let n = 6; n <= 10; n++) await device.publish('reading', { n })
    expect((await dropped).reason).toBeTruthy()
    await nextDeviceEvent(device, 'connected')
    await readings.until((r) => new Set(r.map(reading)).size >= 10)
    const seen = readings.received.map(reading)
    expect([...new Set(seen)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

    for (let n = 11; n <= 20; n++) await device.publish('reading', { n })
    expect(await device.close({ timeoutMs: 5000 })).toEqual({ flushed: true, pending: 0 })
    expect(device.state).toBe('closed')
    await readings.until((r) => r.map(reading).includes(20))
  })

  it('recovers a truncated and corrupt queue file, reports it, and delivers what survived', async () => {
    const proxy = await startTcpProxy(await closedPort())
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-disk')
    const dataDir = tempDir('fleetcast-sdk-disk-')
    const url = `mqtt://127.0.0.1:${proxy.port}`
    const first = testDevice({ url, deviceId: 'sdk-disk', secret, dataDir })
    await first.start()
    for (let n = 1; n <= 4; n++) await first.publish('reading', { n })
    expect(await first.close({ timeoutMs: 0 })).toEqual({ flushed: false, pending: 4 })

    // A bit flipped inside message 2, and message 4 cut short as by a crash mid-append.
    const file = join(dataDir, 'outbox.log')
    const bytes = readFileSync(file)
    bytes.writeUInt8(
      bytes.readUInt8(bytes.indexOf('{"n":2}') + 3) ^ 0x01,
      bytes.indexOf('{"n":2}') + 3,
    )
    writeFileSync(file, bytes)
    truncateSync(file, bytes.length - 4)

    const second = testDevice({ url, deviceId: 'sdk-disk', secret, dataDir })
    const recovered = nextDeviceEvent(second, 'storage.recovered')
    await second.start()
    expect(await recovered).toMatchObject({
      file,
      corruptRecords: 1,
      truncatedBytes: expect.any(Number),
      pendingMessages: 2,
    })
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-disk')
    const readings = recordEvents(browser, 'private-device-sdk-disk', 'reading')
    await second.publish('reading', { n: 5 })
    proxy.retarget(target.addresses.mqtt.port)
    await readings.until((r) => r.length >= 3)
    expect(readings.received.map(reading)).toEqual([1, 3, 5])
  })

  it('applies the full policy: dropOldest reports what it dropped, dropNewest refuses', async () => {
    const proxy = await startTcpProxy(await closedPort())
    const url = `mqtt://127.0.0.1:${proxy.port}`
    const oldest = testDevice({ url, deviceId: 'sdk-full', secret: 'x', queue: { maxMessages: 3 } })
    const overflows: unknown[] = []
    oldest.on('queue.overflow', (overflow) => overflows.push(overflow))
    await oldest.start()
    for (let n = 1; n <= 5; n++) await oldest.publish('reading', { n })
    expect(overflows).toEqual([
      expect.objectContaining({ policy: 'dropOldest', dropped: 1, messages: 3 }),
      expect.objectContaining({ policy: 'dropOldest', dropped: 1, messages: 3 }),
    ])
    expect(oldest.queue.messages).toBe(3)

    const newest = testDevice({
      url,
      deviceId: 'sdk-full-2',
      secret: 'x',
      queue: { maxMessages: 2, whenFull: 'dropNewest' },
    })
    const refused = nextDeviceEvent(newest, 'queue.overflow')
    await newest.start()
    await newest.publish('reading', { n: 1 })
    await newest.publish('reading', { n: 2 })
    await expect(newest.publish('reading', { n: 3 })).rejects.toMatchObject({ code: 'queue_full' })
    expect(await refused).toMatchObject({ policy: 'dropNewest', dropped: 1, messages: 2 })
  })
})

describe('device SDK: size limits and bad input, checked before sending', () => {
  it('rejects oversize payloads before they reach the queue, and passes the exact limit', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-size')
    const device = testDevice({ url: mqttUrl(target), deviceId: 'sdk-size', secret })
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-size')
    await device.start()
    const queueFile = join(device.dataDir, 'outbox.log')
    const sizeBefore = statSync(queueFile).size

    // 10 241 bytes of event data: one over pusher.maxEventBytes.
    const tooBig = 'x'.repeat(10_239)
    await expect(device.publish('blob', tooBig)).rejects.toMatchObject({
      code: 'payload_too_large',
      message: expect.stringMatching(/10241 bytes.*10240/),
    })
    // Binary data is limited by its base64 form, which is what browsers get.
    await expect(device.publish('blob', Buffer.alloc(7700, 0xff))).rejects.toBeInstanceOf(
      DeviceError,
    )
    expect(device.queue.messages).toBe(0)
    expect(statSync(queueFile).size).toBe(sizeBefore)

    // Exactly at the limit: accepted here and delivered by the gateway.
    const atLimit = 'y'.repeat(10_238)
    const arrived = nextEvent(browser, 'private-device-sdk-size', 'blob')
    await device.publish('blob', atLimit)
    expect(await arrived).toBe(atLimit)

    const tight = testDevice({
      url: mqttUrl(target),
      deviceId: 'sdk-size-2',
      secret: 'x',
      limits: { maxEventBytes: 100_000, maxPacketBytes: 1000 },
    })
    await tight.start()
    await expect(tight.publish('blob', 'z'.repeat(1000))).rejects.toThrow(/mqtt.maxPacketBytes/)
  })

  it('refuses bad event names, data and telemetry with a clear error', async () => {
    const device = testDevice({
      url: `mqtt://127.0.0.1:${await closedPort()}`,
      deviceId: 'sdk-bad',
      secret: 'x',
    })
    await expect(device.publish('reading', 1)).rejects.toMatchObject({ code: 'not_started' })
    await device.start()
    const badNames = ['', 'a/b', 'a+', '#', 'pusher:x', 'pusher_internal:y', 'e'.repeat(201)]
    for (const name of badNames)
      await expect(device.publish(name, 1), name).rejects.toBeInstanceOf(TypeError)
    const circular: Record<string, unknown> = {}
    circular.self = circular
    for (const data of [undefined, () => 1, 10n, circular, Symbol('s')])
      await expect(device.publish('e', data), String(typeof data)).rejects.toThrow(
        /cannot be serialised as JSON/,
      )
    const badTelemetry: unknown[] = [null, [], {}, { ts: 1 }, { t: Number.NaN }, { t: {} }]
    for (const values of badTelemetry)
      await expect(
        device.telemetry(values as never),
        JSON.stringify(values),
      ).rejects.toBeInstanceOf(TypeError)
    await expect(device.telemetry({ t: 1 }, { ts: Number.POSITIVE_INFINITY })).rejects.toThrow(/ts/)
    expect(device.queue.messages).toBe(0)
    expect(() => device.onCommand('a/b', () => 1)).toThrow(TypeError)
    expect(() => device.onCommand('ok', 5 as never)).toThrow(TypeError)
    device.onCommand('twice', () => 1)
    expect(() => device.onCommand('twice', () => 2)).toThrow(/already registered/)
    await device.close({ timeoutMs: 0 })
    await expect(device.publish('e', 1)).rejects.toMatchObject({ code: 'closed' })
    await expect(device.start()).rejects.toMatchObject({ code: 'closed' })
    expect(() => device.onCommand('late', () => 1)).toThrow(/closed/)
  })

  it('fails start() with storage_failed when the data directory cannot be used', async () => {
    const file = join(tempDir('fleetcast-sdk-file-'), 'not-a-dir')
    writeFileSync(file, 'x')
    const device = testDevice({
      url: `mqtt://127.0.0.1:${await closedPort()}`,
      deviceId: 'sdk-nodir',
      secret: 'x',
      dataDir: file,
    })
    await expect(device.start()).rejects.toMatchObject({
      code: 'storage_failed',
      message: expect.stringContaining(file),
    })
    await expect(device.publish('e', 1)).rejects.toMatchObject({ code: 'not_started' })
  })

  it('refuses a second device object on the same data directory', async () => {
    const dataDir = tempDir('fleetcast-sdk-lock-')
    const url = `mqtt://127.0.0.1:${await closedPort()}`
    const first = testDevice({ url, deviceId: 'sdk-lock', secret: 'x', dataDir })
    await first.start()
    const second = testDevice({ url, deviceId: 'sdk-lock', secret: 'x', dataDir })
    await expect(second.start()).rejects.toMatchObject({ code: 'data_dir_locked' })
    await first.close({ timeoutMs: 0 })
    const third = testDevice({ url, deviceId: 'sdk-lock', secret: 'x', dataDir })
    await expect(third.start()).resolves.toBeUndefined()
  })
})
