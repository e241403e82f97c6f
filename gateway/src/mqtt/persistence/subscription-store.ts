import type { Readable } from 'node:stream'
import type { Database, Statement } from 'better-sqlite3'
import { pagedStream } from './row-stream.js'
import { SubscriptionIndex } from './subscription-index.js'
import type { PersistedSubscription, TopicSubscription } from './types.js'

interface SubscriptionRow {
  client_id: string
  topic: string
  qos: number
  rh: number | null
  rap: number | null
  nl: number | null
  subscription_identifier: number | null
}

type SubscriptionValues = [
  string,
  string,
  number,
  number | null,
  number | null,
  number | null,
  number | null,
]

/** A change to apply to the in-memory index once the transaction that made it has committed. */
type IndexChange = { add: TopicSubscription } | { remove: { clientId: string; topic: string } }

/**
 * Subscriptions of clean:false sessions. SQLite (`mqtt_subscriptions`, keyed by client and
 * filter) answers the per-client questions; the in-memory `SubscriptionIndex` answers "who
 * subscribed to what matches this topic" and is rebuilt from the table by `load()`.
 * Rows keep their insertion order (rowid) when a subscription is replaced, like the memory
 * persistence's Map.
 */
export class SubscriptionStore {
  readonly index = new SubscriptionIndex()
  readonly #db: Database
  readonly #upsert: Statement<SubscriptionValues>
  readonly #qosOf: Statement<[string, string], { qos: number }>
  readonly #delete: Statement<[string, string]>
  readonly #deleteClient: Statement<[string]>
  readonly #byClient: Statement<[string], SubscriptionRow>
  readonly #indexed: Statement<[], SubscriptionRow>
  readonly #clientCount: Statement<[], { n: number }>
  readonly #clientsOf: Statement<[string, number, number], { id: number; client_id: string }>

  constructor(db: Database) {
    this.#db = db
    this.#upsert = db.prepare(`
      INSERT INTO mqtt_subscriptions
        (client_id, topic, qos, rh, rap, nl, subscription_identifier)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (client_id, topic) DO UPDATE SET qos = excluded.qos, rh = excluded.rh,
        rap = excluded.rap, nl = excluded.nl,
        subscription_identifier = excluded.subscription_identifier`)
    this.#qosOf = db.prepare('SELECT qos FROM mqtt_subscriptions WHERE client_id = ? AND topic = ?')
    this.#delete = db.prepare('DELETE FROM mqtt_subscriptions WHERE client_id = ? AND topic = ?')
    this.#deleteClient = db.prepare('DELETE FROM mqtt_subscriptions WHERE client_id = ?')
    this.#byClient = db.prepare(
      'SELECT * FROM mqtt_subscriptions WHERE client_id = ? ORDER BY rowid',
    )
    this.#indexed = db.prepare('SELECT * FROM mqtt_subscriptions WHERE qos > 0 ORDER BY rowid')
    this.#clientCount = db.prepare('SELECT COUNT(DISTINCT client_id) AS n FROM mqtt_subscriptions')
    this.#clientsOf = db.prepare(`
      SELECT rowid AS id, client_id FROM mqtt_subscriptions
      WHERE topic = ? AND rowid > ? ORDER BY rowid LIMIT ?`)
  }

  /** Rebuilds the in-memory index from the table (at broker setup). */
  load(): void {
    this.index.clear()
    for (const row of this.#indexed.all()) this.index.add(toTopicSubscription(row))
  }

  /** Adds or replaces `subs` for the client, in one transaction, in order. */
  add(clientId: string, subs: readonly PersistedSubscription[]): void {
    const changes: IndexChange[] = []
    this.#db.transaction(() => {
      for (const sub of subs) {
        const previous = this.#qosOf.get(clientId, sub.topic)
        this.#upsert.run(
          clientId,
          sub.topic,
          sub.qos,
          typeof sub.rh === 'number' ? sub.rh : null,
          flag(sub.rap),
          flag(sub.nl),
          typeof sub.subscriptionIdentifier === 'number' ? sub.subscriptionIdentifier : null,
        )
        if (sub.qos > 0) {
          changes.push({
            add: { clientId, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl },
          })
        } else if (previous && previous.qos > 0) {
          changes.push({ remove: { clientId, topic: sub.topic } })
        }
      }
    })()
    this.#apply(changes)
  }

  /** Removes the client's subscriptions to these exact filters. */
  remove(clientId: string, topics: readonly string[]): void {
    const changes: IndexChange[] = []
    this.#db.transaction(() => {
      for (const topic of topics) {
        const previous = this.#qosOf.get(clientId, topic)
        if (!previous) continue
        this.#delete.run(clientId, topic)
        if (previous.qos > 0) changes.push({ remove: { clientId, topic } })
      }
    })()
    this.#apply(changes)
  }

  /** Removes every subscription of the client. */
  clean(clientId: string): void {
    const indexed = this.#byClient.all(clientId).filter((row) => row.qos > 0)
    this.#deleteClient.run(clientId)
    for (const row of indexed) this.index.remove(clientId, row.topic)
  }

  byClient(clientId: string): PersistedSubscription[] {
    return this.#byClient.all(clientId).map(toPersistedSubscription)
  }

  /** Clients with at least one stored subscription, QoS 0 included. */
  clientCount(): number {
    return this.#clientCount.get()?.n ?? 0
  }

  /** Ids of the clients subscribed to exactly this filter. */
  clientsOf(topic: string): Readable {
    let after = 0
    return pagedStream((size) => {
      const rows = this.#clientsOf.all(topic, after, size)
      after = rows.at(-1)?.id ?? after
      return rows.map((row) => row.client_id)
    })
  }

  #apply(changes: readonly IndexChange[]): void {
    for (const change of changes) {
      if ('add' in change) this.index.add(change.add)
      else this.index.remove(change.remove.clientId, change.remove.topic)
    }
  }
}

function flag(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0
}

function toTopicSubscription(row: SubscriptionRow): TopicSubscription {
  return {
    clientId: row.client_id,
    topic: row.topic,
    qos: row.qos,
    rh: row.rh ?? undefined,
    rap: row.rap === null ? undefined : row.rap === 1,
    nl: row.nl === null ? undefined : row.nl === 1,
  }
}

function toPersistedSubscription(row: SubscriptionRow): PersistedSubscription {
  const sub: PersistedSubscription = {
    topic: row.topic,
    qos: row.qos,
    rh: row.rh ?? undefined,
    rap: row.rap === null ? undefined : row.rap === 1,
    nl: row.nl === null ? undefined : row.nl === 1,
  }
  if (row.subscription_identifier !== null) {
    sub.subscriptionIdentifier = row.subscription_identifier
  }
  return sub
}
