import { Aedes } from 'aedes'
import { describe, expect, it, onTestFinished } from 'vitest'
import { conformingPersistence, type SessionPersistence } from './conforming-persistence.js'
import { KnownSessions } from './known-sessions.js'

type Stored = { topic: string; cmd?: string; messageId?: number; dup?: boolean }

/** The methods of aedes' persistence these tests fill it with. */
interface FillablePersistence extends SessionPersistence {
  storeRetained(packet: object): Promise<void>
  outgoingEnqueue(subscription: { clientId: string }, packet: object): Promise<void>
  outgoingUpdate(client: { id: string }, packet: object): Promise<void>
}

/** aedes' own default (in-memory) persistence, set up by a broker that never listens. */
async function defaultPersistence() {
  const broker = await Aedes.createBroker()
  onTestFinished(() => new Promise<void>((resolve) => broker.close(() => resolve())))
  return (broker as unknown as { persistence: FillablePersistence }).persistence
}

async function topics(stream: AsyncIterable<unknown>): Promise<string[]> {
  const found: string[] = []
  for await (const packet of stream) found.push((packet as Stored).topic)
  return found.sort()
}

const retained = (topic: string) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from('x'),
  qos: 0,
  retain: true,
  brokerId: 'b',
  brokerCounter: 1,
})

describe('conformingPersistence', () => {
  it('matches `+` on empty levels for retained messages, which aedes’ default persistence misses [MQTT-4.7.1-3]', async () => {
    const persistence = await defaultPersistence()
    for (const topic of ['sport/', 'sport/x', 'e//x', '/lead', 'parent', '$SYS/x'])
      await persistence.storeRetained(retained(topic))
    const wrapped = conformingPersistence(persistence, new KnownSessions())
    const filters = ['sport/+', 'e/+/x', '+/lead', 'parent/#']
    expect(await topics(persistence.createRetainedStreamCombi(filters))).toEqual([
      'parent',
      'sport/x',
    ])
    expect(await topics(wrapped.createRetainedStreamCombi(filters))).toEqual([
      '/lead',
      'e//x',
      'parent',
      'sport/',
      'sport/x',
    ])
    // First-level wildcards never match `$` topics [MQTT-4.7.2-1]; a literal prefix does.
    expect(await topics(wrapped.createRetainedStreamCombi(['#']))).not.toContain('$SYS/x')
    expect(await topics(wrapped.createRetainedStreamCombi(['$SYS/#']))).toEqual(['$SYS/x'])
  })

  it('marks stored PUBLISH packets that were already sent as DUP, and only those [MQTT-3.3.1-1]', async () => {
    const persistence = await defaultPersistence()
    const client = { id: 'c1' }
    const sent = { ...retained('t/sent'), retain: false, qos: 1, brokerCounter: 2, dup: true }
    const queued = { ...sent, topic: 't/queued', brokerCounter: 3 }
    await persistence.outgoingEnqueue({ clientId: client.id }, sent)
    await persistence.outgoingEnqueue({ clientId: client.id }, queued)
    await persistence.outgoingUpdate(client, { ...sent, messageId: 42 })
    const wrapped = conformingPersistence(persistence, new KnownSessions())
    const out: Stored[] = []
    for await (const packet of wrapped.outgoingStream(client)) out.push(packet as Stored)
    expect(out.map(({ topic, messageId, dup }) => ({ topic, messageId, dup }))).toEqual([
      { topic: 't/sent', messageId: 42, dup: true },
      { topic: 't/queued', messageId: undefined, dup: false },
    ])
  })

  it('forgets a session when its subscriptions are cleaned', async () => {
    const sessions = new KnownSessions()
    sessions.remember('c1')
    const wrapped = conformingPersistence(await defaultPersistence(), sessions)
    await wrapped.cleanSubscriptions({ id: 'c1' })
    expect(sessions.has('c1')).toBe(false)
  })
})
