import type { Readable } from 'node:stream'
import type { Database } from 'better-sqlite3'
import { GatewayError } from '../errors/gateway-error.js'
import type { Logger } from '../log.js'
import { IncomingStore } from './persistence/incoming-store.js'
import { OutgoingQueue } from './persistence/outgoing-queue.js'
import { RetainedStore } from './persistence/retained-store.js'
import { SubscriptionStore } from './persistence/subscription-store.js'
import type {
  PersistedPacket,
  PersistedSubscription,
  PersistenceBroker,
  PersistenceClient,
  TopicSubscription,
} from './persistence/types.js'
import { WillStore } from './persistence/will-store.js'

export type { PersistedPacket, PersistedSubscription, PersistenceClient, TopicSubscription }

/** Default cap on one client's queued QoS 1/2 packets (see `OutgoingQueue`). */
export const DEFAULT_MAX_QUEUED_PER_CLIENT = 10_000

export interface SqlitePersistenceOptions {
  /** Where the "queue full" warnings go. */
  log?: Pick<Logger, 'warn'> | undefined
  /** Most QoS 1/2 packets queued for one client; at the cap the oldest unsent one is dropped. */
  maxQueuedPerClient?: number | undefined
}

/**
 * aedes' persistence on the gateway's SQLite store: retained messages, the subscriptions of
 * clean:false sessions, their queues of QoS 1/2 packets (offline and in flight), incoming QoS 2
 * packets and wills survive a restart. It implements the async interface of aedes-persistence 11
 * (`asyncPersistence.js`) and passes its abstract test suite; aedes-persistence's memory
 * persistence is the reference for every behaviour not noted on the stores.
 *
 * better-sqlite3 is synchronous: each method does its work at once (multi-row writes in one
 * transaction, statements prepared here, once) and returns a settled promise, so aedes' calls
 * never interleave inside one. The tables come from store migration 5. The database stays the
 * caller's: `destroy()` does not close it.
 */
export class SqlitePersistence {
  #broker: PersistenceBroker | undefined
  readonly #retained: RetainedStore
  readonly #subscriptions: SubscriptionStore
  readonly #outgoing: OutgoingQueue
  readonly #incoming: IncomingStore
  readonly #wills: WillStore

  constructor(db: Database, options: SqlitePersistenceOptions = {}) {
    const maxQueued = options.maxQueuedPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT
    if (!Number.isInteger(maxQueued) || maxQueued < 1) {
      throw new RangeError(`maxQueuedPerClient must be a positive integer, got ${maxQueued}`)
    }
    try {
      this.#retained = new RetainedStore(db)
      this.#subscriptions = new SubscriptionStore(db)
      this.#outgoing = new OutgoingQueue(db, maxQueued, options.log)
      this.#incoming = new IncomingStore(db)
      this.#wills = new WillStore(db)
    } catch (error) {
      throw new GatewayError(
        'FC_ERR_STORE_SCHEMA',
        `The store has no MQTT session tables (schema version 5): ${(error as Error).message}. Open it with openStore(), which applies the migrations.`,
        { cause: error },
      )
    }
  }

  /** The broker given to `setup` (the abstract test suite reads it). */
  get broker(): PersistenceBroker | undefined {
    return this.#broker
  }

  /** Called once by aedes before it serves: rebuilds the in-memory subscription index. */
  async setup(broker: PersistenceBroker): Promise<void> {
    this.#broker = broker
    this.#subscriptions.load()
    this.#outgoing.load(broker)
  }

  async storeRetained(packet: PersistedPacket): Promise<void> {
    this.#retained.store(packet)
  }

  createRetainedStream(pattern: string): Readable {
    return this.#retained.stream([pattern])
  }

  createRetainedStreamCombi(patterns: readonly string[]): Readable {
    return this.#retained.stream(patterns)
  }

  async addSubscriptions(
    client: PersistenceClient,
    subs: readonly PersistedSubscription[],
  ): Promise<void> {
    this.#subscriptions.add(client.id, subs)
  }

  async removeSubscriptions(client: PersistenceClient, topics: readonly string[]): Promise<void> {
    this.#subscriptions.remove(client.id, topics)
  }

  async subscriptionsByClient(client: PersistenceClient): Promise<PersistedSubscription[]> {
    return this.#subscriptions.byClient(client.id)
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return {
      subsCount: this.#subscriptions.index.size,
      clientsCount: this.#subscriptions.clientCount(),
    }
  }

  async subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    return this.#subscriptions.index.match(topic)
  }

  async cleanSubscriptions(client: PersistenceClient): Promise<void> {
    this.#subscriptions.clean(client.id)
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: PersistedPacket): Promise<void> {
    this.#outgoing.enqueue([sub.clientId], packet)
  }

  async outgoingEnqueueCombi(
    subs: readonly { clientId: string }[],
    packet: PersistedPacket,
  ): Promise<void> {
    if (subs.length === 0) return
    this.#outgoing.enqueue(
      subs.map((sub) => sub.clientId),
      packet,
    )
  }

  async outgoingUpdate(client: PersistenceClient, packet: PersistedPacket): Promise<void> {
    this.#outgoing.update(client.id, packet)
  }

  async outgoingClearMessageId(
    client: PersistenceClient,
    packet: { messageId?: number | undefined } | null | undefined,
  ): Promise<PersistedPacket | undefined> {
    return this.#outgoing.clear(client.id, packet?.messageId)
  }

  /**
   * Not in the aedes interface: deletes the client's whole queue in one statement (aedes itself
   * drains a queue with `outgoingClearMessageId`, one packet at a time).
   */
  async cleanOutgoing(client: PersistenceClient): Promise<void> {
    this.#outgoing.clean(client.id)
  }

  outgoingStream(client: PersistenceClient): Readable {
    return this.#outgoing.stream(client.id)
  }

  async incomingStorePacket(client: PersistenceClient, packet: PersistedPacket): Promise<void> {
    this.#incoming.put(client.id, packet)
  }

  async incomingGetPacket(
    client: PersistenceClient,
    packet: { messageId?: number | undefined },
  ): Promise<PersistedPacket> {
    return this.#incoming.get(client.id, packet.messageId)
  }

  async incomingDelPacket(
    client: PersistenceClient,
    packet: { messageId?: number | undefined },
  ): Promise<void> {
    this.#incoming.delete(client.id, packet.messageId)
  }

  async cleanIncoming(client: PersistenceClient): Promise<void> {
    this.#incoming.clean(client.id)
  }

  /** Stamps the will with this broker's id and the client id, on `packet` itself as memory does. */
  async putWill(client: PersistenceClient, packet: PersistedPacket): Promise<void> {
    packet.brokerId = this.#broker?.id
    packet.clientId = client.id
    this.#wills.put(client.id, packet)
  }

  async getWill(client: PersistenceClient): Promise<PersistedPacket | undefined> {
    return this.#wills.get(client.id)
  }

  async delWill(client: PersistenceClient): Promise<PersistedPacket | undefined> {
    return this.#wills.delete(client.id)
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    return this.#wills.ofOtherBrokers(brokers)
  }

  getClientList(topic: string): Readable {
    return this.#subscriptions.clientsOf(topic)
  }

  /** Drops the in-memory index. The tables keep their rows and the database stays open. */
  async destroy(): Promise<void> {
    this.#subscriptions.index.clear()
  }
}

export function createSqlitePersistence(
  db: Database,
  options: SqlitePersistenceOptions = {},
): SqlitePersistence {
  return new SqlitePersistence(db, options)
}
