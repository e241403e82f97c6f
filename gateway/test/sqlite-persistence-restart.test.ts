import { spawn } from 'node:child_process'
import { type EventEmitter, once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Aedes, type AedesOptions } from 'aedes'
import BetterSqlite3 from 'better-sqlite3'
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createSqlitePersistence, type SqlitePersistence } from '../src/mqtt/sqlite-persistence.js'
import { migrate } from '../src/store/migrations.js'
import { assertPersistenceDistFresh, storePath } from './sqlite-persistence-support.js'

interface RunningBroker {
  broker: Aedes
  persistence: SqlitePersistence
  url: string
  stop(): Promise<void>
}

/** aedes on the SQLite persistence over `path`, listening on a loopback port. */
async function startBroker(path: string, options: AedesOptions = {}): Promise<RunningBroker> {
  const db = new BetterSqlite3(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  migrate(db)
  const persistence = createSqlitePersistence(db)
  const broker = await Aedes.createBroker({ ...options, persistence })
  const server = createServer((socket) => broker.handle(socket))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await persistence.destroy()
    db.close()
  }
  onTestFinished(stop)
  return { broker, persistence, url: `mqtt://127.0.0.1:${port}`, stop }
}

interface Received {
  topic: string
  payload: Buffer
  packet: IPublishPacket
}

interface Connected {
  client: MqttClient
  sessionPresent: boolean
  /** Every message received since CONNACK, in order. */
  received: Received[]
  /** The first message (already received or still to come) whose topic matches. */
  waitFor(match: (topic: string) => boolean): Promise<Received>
}

/** An mqtt.js client that records every message from the moment it connects. */
async function connect(url: string, options: IClientOptions): Promise<Connected> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
  onTestFinished(() => {
    client.end(true)
  })
  const received: Received[] = []
  const waiters: Array<{ match: (topic: string) => boolean; resolve: (m: Received) => void }> = []
  // attached before CONNACK: a restored session's queue follows it in the same read
  client.on('message', (topic, payload, packet) => {
    const message = { topic, payload, packet }
    received.push(message)
    for (const waiter of waiters.filter((w) => w.match(topic))) {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve(message)
    }
  })
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  })
  return {
    client,
    sessionPresent: connack.sessionPresent,
    received,
    waitFor: (match) => {
      const found = received.find((m) => match(m.topic))
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ match, resolve }))
    },
  }
}

/** Resolves on the first `event` of the broker whose arguments `match`. */
function brokerEvent(aedes: Aedes, event: string, match: (...args: unknown[]) => boolean) {
  // aedes types each event's listener; this helper takes any of them
  const broker = aedes as unknown as EventEmitter
  return new Promise<void>((resolve) => {
    const listener = (...args: unknown[]) => {
      if (!match(...args)) return
      broker.off(event, listener)
      resolve()
    }
    broker.on(event, listener)
  })
}

async function read(stream: Readable): Promise<unknown[]> {
  const items: unknown[] = []
  for await (const item of stream) items.push(item)
  return items
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const DIST_PERSISTENCE = new URL('../dist/mqtt/sqlite-persistence.js', import.meta.url).href
const DIST_MIGRATIONS = new URL('../dist/store/migrations.js', import.meta.url).href

/** A broker in a child process (compiled gateway/dist), so that it can really be killed. */
async function spawnBroker(path: string) {
  assertPersistenceDistFresh()
  const script = `
    import { createServer } from 'node:net'
    import { Aedes } from 'aedes'
    import BetterSqlite3 from 'better-sqlite3'
    import { createSqlitePersistence } from ${JSON.stringify(DIST_PERSISTENCE)}
    import { migrate } from ${JSON.stringify(DIST_MIGRATIONS)}
    const db = new BetterSqlite3(process.env.STORE_PATH)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    migrate(db)
    const broker = await Aedes.createBroker({ persistence: createSqlitePersistence(db) })
    broker.on('clientDisconnect', (client) => console.log('disconnected ' + client.id))
    broker.on('publish', (packet) => console.log('published ' + packet.topic))
    const server = createServer((socket) => broker.handle(socket))
    server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO,
    env: { ...process.env, STORE_PATH: path },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  const waiters = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    for (const waiter of waiters) waiter()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  /** Resolves once the child has printed a line matching `pattern`. */
  const printed = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = stdout.match(pattern)
        if (!match) return
        waiters.delete(check)
        resolve(match)
      }
      waiters.add(check)
      child.once('exit', () => reject(new Error(`broker child exited; stderr: ${stderr}`)))
      check()
    })
  const [, port] = await printed(/^port (\d+)$/m)
  return {
    url: `mqtt://127.0.0.1:${port}`,
    printed,
    async kill() {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
  }
}

const COMMAND = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x42])

describe('aedes on the SQLite persistence across a restart', () => {
  it('delivers a QoS 1 message queued for an offline clean:false client exactly once after a restart, and keeps retained messages', async () => {
    const path = storePath()

    // 1. a persistent session subscribes at QoS 1, then goes away
    const first = await startBroker(path)
    const device = await connect(first.url, { clientId: 'pi-1', clean: false })
    expect(device.sessionPresent).toBe(false)
    await device.client.subscribeAsync('devices/pi-1/commands/#', { qos: 1 })
    const gone = brokerEvent(
      first.broker,
      'clientDisconnect',
      (client) => (client as { id: string }).id === 'pi-1',
    )
    await device.client.endAsync()
    await gone

    // 2. a QoS 1 command for it and a retained state. aedes sends PUBACK before it stores and
    // queues a message; its 'publish' event comes after
    const published = (topic: string) =>
      brokerEvent(
        first.broker,
        'publish',
        (packet) => (packet as { topic: string }).topic === topic,
      )
    const stored = Promise.all([
      published('devices/pi-1/commands/flash'),
      published('fleet/pi-1/state'),
    ])
    const backend = await connect(first.url, { clientId: 'backend-1' })
    await backend.client.publishAsync('devices/pi-1/commands/flash', COMMAND, { qos: 1 })
    await backend.client.publishAsync('fleet/pi-1/state', 'online', { qos: 1, retain: true })
    await stored
    await backend.client.endAsync()

    // 3. the gateway restarts: broker and database closed, then opened again on the same file
    await first.stop()
    const second = await startBroker(path)

    // 4. the device comes back with the same client id: its session and its command are there
    const acked = brokerEvent(second.broker, 'ack', (packet) => {
      const p = packet as { topic?: string; payload?: Buffer } | undefined
      return (
        p?.topic === 'devices/pi-1/commands/flash' && Buffer.from(p.payload ?? []).equals(COMMAND)
      )
    })
    const again = await connect(second.url, { clientId: 'pi-1', clean: false })
    expect(again.sessionPresent).toBe(true)
    const command = await again.waitFor((topic) => topic.endsWith('/flash'))
    expect(command.payload).toEqual(COMMAND)
    expect(command.packet.qos).toBe(1)
    await acked

    // exactly once: a later message on the same subscription arrives after it, with no copy between
    const backend2 = await connect(second.url, { clientId: 'backend-2' })
    const marker = again.waitFor((topic) => topic.endsWith('/marker'))
    const markerAcked = brokerEvent(
      second.broker,
      'ack',
      (packet) =>
        (packet as { topic?: string } | undefined)?.topic === 'devices/pi-1/commands/marker',
    )
    await backend2.client.publishAsync('devices/pi-1/commands/marker', 'after', { qos: 1 })
    await marker
    expect(again.received.map((m) => m.topic)).toEqual([
      'devices/pi-1/commands/flash',
      'devices/pi-1/commands/marker',
    ])

    // the retained message survived too, delivered with the retain flag to a new subscriber
    const viewer = await connect(second.url, { clientId: 'viewer-1' })
    const state = viewer.waitFor((topic) => topic === 'fleet/pi-1/state')
    await viewer.client.subscribeAsync('fleet/#', { qos: 1 })
    const retained = await state
    expect(retained.payload.toString()).toBe('online')
    expect(retained.packet.retain).toBe(true)

    // acknowledged messages are gone for good: a third start has nothing left to send
    await markerAcked
    await again.client.endAsync()
    await second.stop()
    const third = await startBroker(path)
    expect(await read(third.persistence.outgoingStream({ id: 'pi-1' }))).toEqual([])
    expect(await third.persistence.subscriptionsByClient({ id: 'pi-1' })).toMatchObject([
      { topic: 'devices/pi-1/commands/#', qos: 1 },
    ])
  })
  it("survives a crash (SIGKILL): the next broker publishes the dead connection's will and delivers the queue", async () => {
    const path = storePath()
    const crashing = await spawnBroker(path)

    // pi-2 stays connected with a will; pi-3 has a persistent session and is offline
    const online = await connect(crashing.url, {
      clientId: 'pi-2',
      clean: false,
      will: { topic: 'fleet/pi-2/status', payload: Buffer.from('offline'), qos: 1, retain: false },
    })
    expect(online.sessionPresent).toBe(false)
    const offline = await connect(crashing.url, { clientId: 'pi-3', clean: false })
    await offline.client.subscribeAsync('devices/pi-3/commands/#', { qos: 1 })
    const gone = crashing.printed(/^disconnected pi-3$/m)
    await offline.client.endAsync()
    await gone
    const backend = await connect(crashing.url, { clientId: 'backend-1' })
    // aedes sends PUBACK before it queues the message; 'publish' comes after
    const queued = crashing.printed(/^published devices\/pi-3\/commands\/reboot$/m)
    await backend.client.publishAsync('devices/pi-3/commands/reboot', COMMAND, { qos: 1 })
    await queued

    await crashing.kill()
    online.client.end(true)
    backend.client.end(true)

    // a new broker (new id) on the same file sweeps the wills of brokers it never heard from
    const next = await startBroker(path, { heartbeatInterval: 20 })
    const watcher = await connect(next.url, { clientId: 'watcher-1' })
    const will = watcher.waitFor((topic) => topic === 'fleet/pi-2/status')
    await watcher.client.subscribeAsync('fleet/+/status', { qos: 1 })
    expect((await will).payload.toString()).toBe('offline')

    const back = await connect(next.url, { clientId: 'pi-3', clean: false })
    expect(back.sessionPresent).toBe(true)
    const command = await back.waitFor((topic) => topic.endsWith('/reboot'))
    expect(command.payload).toEqual(COMMAND)
    const marker = back.waitFor((topic) => topic.endsWith('/marker'))
    await watcher.client.publishAsync('devices/pi-3/commands/marker', 'after', { qos: 1 })
    await marker
    expect(back.received.map((m) => m.topic)).toEqual([
      'devices/pi-3/commands/reboot',
      'devices/pi-3/commands/marker',
    ])
  })
})
