import type { Readable } from 'node:stream'
import type { Database, Statement } from 'better-sqlite3'
import { filterMatches } from '../../domain/topic-filter.js'
import { decodePacket, encodePacket } from './packet-codec.js'
import { pagedStream } from './row-stream.js'
import { prefixUpperBound, retainedLookup } from './topic-filter.js'
import type { PersistedPacket } from './types.js'

interface PacketRow {
  packet: string
  payload: Buffer | null
  payload_kind: number
}

/**
 * Retained messages, one row per topic (`mqtt_retained`). A lookup by filter reads only topics
 * from the primary-key index (the key range under the filter's literal prefix, or one key), keeps
 * those the filter matches, and then loads their packets a page at a time as the stream is read.
 */
export class RetainedStore {
  readonly #upsert: Statement<[string, string, Buffer | null, number, number]>
  readonly #delete: Statement<[string]>
  readonly #get: Statement<[string], PacketRow>
  readonly #exists: Statement<[string], { topic: string }>
  readonly #range: Statement<[string, string], { topic: string }>
  readonly #all: Statement<[], { topic: string }>

  constructor(db: Database) {
    this.#upsert = db.prepare(`
      INSERT INTO mqtt_retained (topic, packet, payload, payload_kind, stored_at)
      VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (topic) DO UPDATE SET packet = excluded.packet, payload = excluded.payload,
        payload_kind = excluded.payload_kind, stored_at = excluded.stored_at`)
    this.#delete = db.prepare('DELETE FROM mqtt_retained WHERE topic = ?')
    this.#get = db.prepare(
      'SELECT packet, payload, payload_kind FROM mqtt_retained WHERE topic = ?',
    )
    this.#exists = db.prepare('SELECT topic FROM mqtt_retained WHERE topic = ?')
    this.#range = db.prepare(
      'SELECT topic FROM mqtt_retained WHERE topic >= ? AND topic < ? ORDER BY topic',
    )
    this.#all = db.prepare('SELECT topic FROM mqtt_retained ORDER BY topic')
  }

  /** Stores a copy of `packet`; an empty payload removes the topic's retained message. */
  store(packet: PersistedPacket): void {
    const topic = String(packet.topic)
    if ((packet.payload?.length ?? 0) === 0) {
      this.#delete.run(topic)
      return
    }
    const encoded = encodePacket(packet)
    this.#upsert.run(topic, encoded.json, encoded.payload, encoded.payloadKind, Date.now())
  }

  /**
   * The retained messages matching any of `filters`, each message once even when several filters
   * match it (the memory persistence repeats it per filter; a SUBSCRIBE with overlapping filters
   * then gets one copy, which MQTT allows). Topics are listed when the stream is first read.
   */
  stream(filters: readonly string[]): Readable {
    let topics: string[] | undefined
    let next = 0
    return pagedStream((size) => {
      topics ??= this.#matchingTopics(filters)
      const page: PersistedPacket[] = []
      while (page.length < size && next < topics.length) {
        const row = this.#get.get(topics[next++] as string)
        if (row) page.push(decodePacket(row.packet, row.payload, row.payload_kind))
      }
      return page
    })
  }

  #matchingTopics(filters: readonly string[]): string[] {
    const found = new Set<string>()
    for (const filter of filters) {
      for (const topic of this.#candidates(filter)) {
        if (filterMatches(filter, topic)) found.add(topic)
      }
    }
    return [...found]
  }

  #candidates(filter: string): string[] {
    const lookup = retainedLookup(filter)
    if (lookup.kind === 'exact') return this.#exists.all(lookup.topic).map((r) => r.topic)
    const under =
      lookup.prefix === ''
        ? this.#all.all()
        : this.#range.all(lookup.prefix, prefixUpperBound(lookup.prefix))
    const topics = under.map((r) => r.topic)
    if (lookup.parent !== undefined && this.#exists.get(lookup.parent)) {
      topics.unshift(lookup.parent)
    }
    return topics
  }
}
