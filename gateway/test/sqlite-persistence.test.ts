import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import BetterSqlite3, { type Database } from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import { GatewayError } from '../src/errors/gateway-error.js'
import {
  createSqlitePersistence,
  type PersistedPacket,
  type SqlitePersistence,
  type SqlitePersistenceOptions,
} from '../src/mqtt/sqlite-persistence.js'
import { migrate } from '../src/store/migrations.js'
import { assertPersistenceDistFresh, storePath } from './sqlite-persistence-support.js'

const RUNNER = fileURLToPath(new URL('./sqlite-persistence-abstract.mjs', import.meta.url))
const ABSTRACT_SUITE = createRequire(import.meta.url).resolve('aedes-persistence/abstract.js')

/** The store file as the gateway opens it: WAL, synchronous=NORMAL, migrated. */
function openDb(path: string): Database {
  const db = new BetterSqlite3(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  migrate(db)
  onTestFinished(() => {
    if (db.open) db.close()
  })
  return db
}

const broker = () => ({ id: 'broker-1', counter: 0 })

async function persistenceOn(
  db: Database,
  options: SqlitePersistenceOptions = {},
  onBroker = broker(),
): Promise<SqlitePersistence> {
  const persistence = createSqlitePersistence(db, options)
  await persistence.setup(onBroker)
  return persistence
}

async function read<T = PersistedPacket>(stream: Readable): Promise<T[]> {
  const items: T[] = []
  for await (const item of stream) items.push(item as T)
  return items
}

function publish(topic: string, payload: string | Buffer, extra: Partial<PersistedPacket> = {}) {
  return {
    cmd: 'publish',
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos: 1,
    retain: false,
    dup: false,
    ...extra,
  }
}

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('aedes-persistence abstract suite', () => {
  it('passes every case against the SQLite persistence', async () => {
    assertPersistenceDistFresh()
    // every `test(...)` the suite declares, so a case that silently stops running is noticed
    const declared = readFileSync(ABSTRACT_SUITE, 'utf8').match(/^\s*test\(/gm)?.length ?? 0
    expect(declared).toBeGreaterThanOrEqual(50)
    const run = await runNode(['--test', '--test-reporter=tap', RUNNER])
    const summary = Object.fromEntries(
      [...run.stdout.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    )
    const failures = run.stdout
      .split('\n')
      .filter((line) => /^\s*not ok /.test(line))
      .join('\n')
    expect(
      summary,
      `abstract suite summary\n${failures}\n${run.stderr}\n${run.stdout.slice(-3000)}`,
    ).toEqual({ tests: declared, pass: declared, fail: 0, cancelled: 0, skipped: 0, todo: 0 })
    expect(run.code).toBe(0)
  }, 120_000)
})

describe('SQLite persistence', () => {
  it('refuses a database without the migration 5 tables', () => {
    const db = new BetterSqlite3(':memory:')
    onTestFinished(() => {
      db.close()
    })
    let error: unknown
    try {
      createSqlitePersistence(db)
    } catch (e) {
      error = e
    }
    expect(GatewayError.is(error) && error.code).toBe('FC_ERR_STORE_SCHEMA')
  })

  it('matches retained topics by MQTT rules: empty levels, # parent, $ topics', async () => {
    const persistence = await persistenceOn(openDb(storePath()))
    const topics = [
      'a',
      'a/b',
      'a//c',
      'a/b/c',
      'ab',
      'a0',
      '/x',
      '$SYS/broker/load',
      '$fleet/a',
      'devices/pi-1/state',
    ]
    for (const topic of topics) {
      await persistence.storeRetained({ ...publish(topic, topic), retain: true })
    }
    const lookup = async (...filters: string[]) =>
      (await read(persistence.createRetainedStreamCombi(filters))).map((p) => p.topic).sort()

    expect(await lookup('#')).toEqual(
      ['/x', 'a', 'a//c', 'a/b', 'a/b/c', 'a0', 'ab', 'devices/pi-1/state'].sort(),
    )
    expect(await lookup('a/#')).toEqual(['a', 'a//c', 'a/b', 'a/b/c'])
    expect(await lookup('a/+/c')).toEqual(['a//c', 'a/b/c'])
    expect(await lookup('+/x')).toEqual(['/x'])
    expect(await lookup('a/+')).toEqual(['a/b'])
    expect(await lookup('+')).toEqual(['a', 'a0', 'ab'])
    expect(await lookup('+/+/+')).toEqual(['a//c', 'a/b/c', 'devices/pi-1/state'])
    expect(await lookup('$SYS/#')).toEqual(['$SYS/broker/load'])
    expect(await lookup('+/a')).toEqual([])
    expect(await lookup('$fleet/+')).toEqual(['$fleet/a'])
    expect(await lookup('a/b')).toEqual(['a/b'])
    // overlapping filters: each message once
    expect(await lookup('a/#', 'a/b', '+/b')).toEqual(['a', 'a//c', 'a/b', 'a/b/c'])

    const [bytes] = await read(persistence.createRetainedStream('devices/pi-1/state'))
    expect(Buffer.isBuffer(bytes?.payload)).toBe(true)
  })

  it('matches subscriptions by MQTT rules: empty levels and $ topics', async () => {
    const persistence = await persistenceOn(openDb(storePath()))
    const filters = ['#', '+/+', 'a/+/c', 'a/#', '$SYS/#', '+/broker/#', 'zero']
    await persistence.addSubscriptions(
      { id: 'c1' },
      filters.map((topic) => ({ topic, qos: topic === 'zero' ? 0 : 1 })),
    )
    const match = async (topic: string) =>
      (await persistence.subscriptionsByTopic(topic)).map((s) => s.topic).sort()
    expect(await match('a//c')).toEqual(['#', 'a/#', 'a/+/c'].sort())
    expect(await match('/')).toEqual(['#', '+/+'].sort())
    expect(await match('a')).toEqual(['#', 'a/#'].sort())
    expect(await match('$SYS/broker/x')).toEqual(['$SYS/#'])
    expect(await match('zero')).toEqual(['#'])
  })

  it('round-trips every packet field: binary and string payloads, MQTT 5 properties, undefined keys', async () => {
    const path = storePath()
    const persistence = await persistenceOn(openDb(path))
    const client = { id: 'pi-1' }
    const binary = Buffer.from([0, 1, 2, 0xfe, 0xff])
    const properties = {
      correlationData: Buffer.from([9, 8, 7]),
      userProperties: { $b: 'not a tag', list: ['x', 'y'] },
      contentType: 'application/octet-stream',
    }
    const packet = {
      ...publish('devices/pi-1/commands/flash', binary, { qos: 2, retain: false, dup: false }),
      brokerId: 'broker-1',
      brokerCounter: 7,
      properties,
      messageExpiry: 1_900_000_000_000,
    }
    await persistence.outgoingEnqueueCombi([{ clientId: client.id }], packet)
    await persistence.outgoingUpdate(client, { ...packet, messageId: 11 })
    const [queued] = await read(persistence.outgoingStream(client))
    expect(queued).toEqual({
      cmd: 'publish',
      topic: 'devices/pi-1/commands/flash',
      payload: binary,
      qos: 2,
      retain: false,
      dup: false,
      brokerId: 'broker-1',
      brokerCounter: 7,
      messageId: 11,
      properties,
      messageExpiry: 1_900_000_000_000,
    })
    expect(Buffer.isBuffer(queued?.properties?.correlationData)).toBe(true)
    expect(Object.hasOwn(queued ?? {}, 'messageId')).toBe(true)

    // the payload is a BLOB holding exactly the bytes
    const db = openDb(path)
    const row = db.prepare('SELECT payload, typeof(payload) AS type FROM mqtt_outgoing').get()
    expect(row).toEqual({ payload: binary, type: 'blob' })

    await persistence.incomingStorePacket(client, { ...packet, payload: 'text', messageId: 5 })
    const incoming = await persistence.incomingGetPacket(client, { messageId: 5 })
    expect(incoming.payload).toBe('text')
    expect(incoming.properties).toEqual(properties)
  })

  it('caps a client queue: drops the oldest unsent message, then new ones when all are in flight, and logs it', async () => {
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = []
    const log = {
      warn: (fields: Record<string, unknown>, message: string) =>
        warnings.push({ fields, message }),
    }
    const persistence = await persistenceOn(openDb(storePath()), {
      maxQueuedPerClient: 3,
      log: log as unknown as SqlitePersistenceOptions['log'],
    })
    const full = { id: 'full' }
    const other = { id: 'other' }
    for (let i = 1; i <= 5; i++) {
      await persistence.outgoingEnqueueCombi(
        [{ clientId: full.id }, { clientId: other.id }].slice(0, i <= 3 ? 2 : 1),
        { ...publish('t', `m${i}`), brokerId: 'broker-1', brokerCounter: i },
      )
    }
    const payloads = async (client: { id: string }) =>
      (await read(persistence.outgoingStream(client))).map((p) => String(p.payload))
    expect(await payloads(full)).toEqual(['m3', 'm4', 'm5'])
    expect(await payloads(other)).toEqual(['m1', 'm2', 'm3'])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.fields).toMatchObject({ clientId: 'full', maxQueuedPerClient: 3 })

    // all three in flight (messageIds assigned): a new message is not queued for this client
    for (const counter of [3, 4, 5]) {
      await persistence.outgoingUpdate(full, {
        ...publish('t', ''),
        brokerId: 'broker-1',
        brokerCounter: counter,
        messageId: counter,
      })
    }
    await persistence.outgoingEnqueue(
      { clientId: full.id },
      { ...publish('t', 'm6'), brokerId: 'broker-1', brokerCounter: 6 },
    )
    expect(await payloads(full)).toEqual(['m3', 'm4', 'm5'])
    // an acknowledgement makes room again
    expect((await persistence.outgoingClearMessageId(full, { messageId: 3 }))?.payload).toEqual(
      Buffer.from('m3'),
    )
    await persistence.outgoingEnqueue(
      { clientId: full.id },
      { ...publish('t', 'm7'), brokerId: 'broker-1', brokerCounter: 7 },
    )
    expect(await payloads(full)).toEqual(['m4', 'm5', 'm7'])
  })

  it('streams a long queue in order a page at a time while it is being acknowledged', async () => {
    const persistence = await persistenceOn(openDb(storePath()))
    const client = { id: 'slow' }
    const total = 250
    for (let i = 1; i <= total; i++) {
      await persistence.outgoingEnqueue(
        { clientId: client.id },
        { ...publish('t', `m${i}`), brokerId: 'broker-1', brokerCounter: i },
      )
    }
    const seen: string[] = []
    let messageId = 0
    for await (const item of persistence.outgoingStream(client)) {
      const packet = item as PersistedPacket
      seen.push(String(packet.payload))
      messageId++
      await persistence.outgoingUpdate(client, { ...packet, messageId })
      await persistence.outgoingClearMessageId(client, { messageId })
      // queued after the stream started: left for the next stream
      if (messageId === 1) {
        await persistence.outgoingEnqueue(
          { clientId: client.id },
          { ...publish('t', 'late'), brokerId: 'broker-1', brokerCounter: total + 1 },
        )
      }
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => `m${i + 1}`))
    expect((await read(persistence.outgoingStream(client))).map((p) => String(p.payload))).toEqual([
      'late',
    ])
  })

  it('keeps sessions, inbound QoS 2 packets and wills across a reopen, and moves a fixed broker id past queued counters', async () => {
    const path = storePath()
    const first = await persistenceOn(openDb(path))
    const client = { id: 'pi-9' }
    await first.addSubscriptions(client, [
      { topic: 'devices/pi-9/commands/#', qos: 1 },
      { topic: 'devices/pi-9/config', qos: 0 },
    ])
    await first.outgoingEnqueue(
      { clientId: client.id },
      { ...publish('devices/pi-9/commands/reboot', 'now'), brokerId: 'fixed', brokerCounter: 41 },
    )
    await first.incomingStorePacket(client, { ...publish('up', 'x', { qos: 2 }), messageId: 77 })
    await first.putWill(client, {
      topic: 'devices/pi-9/status',
      payload: Buffer.from('gone'),
      qos: 1,
      retain: true,
    })
    await first.destroy()

    const restarted = { id: 'fixed', counter: 0 }
    const second = await persistenceOn(openDb(path), {}, restarted)
    expect(restarted.counter).toBe(41)
    expect(await second.subscriptionsByClient(client)).toEqual([
      { topic: 'devices/pi-9/commands/#', qos: 1, rh: undefined, rap: undefined, nl: undefined },
      { topic: 'devices/pi-9/config', qos: 0, rh: undefined, rap: undefined, nl: undefined },
    ])
    expect(await second.subscriptionsByTopic('devices/pi-9/commands/reboot')).toEqual([
      {
        clientId: 'pi-9',
        topic: 'devices/pi-9/commands/#',
        qos: 1,
        rh: undefined,
        rap: undefined,
        nl: undefined,
      },
    ])
    expect(await second.countOffline()).toEqual({ subsCount: 1, clientsCount: 1 })
    expect((await read(second.outgoingStream(client))).map((p) => p.brokerCounter)).toEqual([41])
    expect((await second.incomingGetPacket(client, { messageId: 77 })).payload).toEqual(
      Buffer.from('x'),
    )
    const wills = await read(second.streamWill({ 'broker-2': Date.now() }))
    expect(wills).toEqual([
      {
        topic: 'devices/pi-9/status',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: true,
        brokerId: 'broker-1',
        clientId: 'pi-9',
      },
    ])
    expect(await read(second.streamWill({ 'broker-1': Date.now() }))).toEqual([])
  })
})
