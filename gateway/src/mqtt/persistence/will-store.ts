import type { Readable } from 'node:stream'
import type { Database, Statement } from 'better-sqlite3'
import { decodePacket, encodePacket } from './packet-codec.js'
import { pagedStream } from './row-stream.js'
import type { PersistedPacket } from './types.js'

interface WillRow {
  client_id: string
  packet: string
  payload: Buffer | null
  payload_kind: number
}

/**
 * Wills of connected clients (`mqtt_wills`, one per client id), stamped with the id of the broker
 * that holds the connection. After a crash they are still here; the next broker (a new id per
 * start) finds them through `streamWill` and publishes them (aedes sweeps every 4 heartbeats).
 */
export class WillStore {
  readonly #put: Statement<[string, string | null, string, Buffer | null, number, number]>
  readonly #get: Statement<[string], WillRow>
  readonly #delete: Statement<[string], WillRow>
  readonly #ofOtherBrokers: Statement<
    [{ after: string | null; live: string; size: number }],
    WillRow
  >

  constructor(db: Database) {
    this.#put = db.prepare(`
      INSERT OR REPLACE INTO mqtt_wills
        (client_id, broker_id, packet, payload, payload_kind, stored_at)
      VALUES (?, ?, ?, ?, ?, ?)`)
    this.#get = db.prepare('SELECT * FROM mqtt_wills WHERE client_id = ?')
    this.#delete = db.prepare('DELETE FROM mqtt_wills WHERE client_id = ? RETURNING *')
    this.#ofOtherBrokers = db.prepare(`
      SELECT * FROM mqtt_wills
      WHERE (@after IS NULL OR client_id > @after)
        AND (broker_id IS NULL OR broker_id NOT IN (SELECT value FROM json_each(@live)))
      ORDER BY client_id LIMIT @size`)
  }

  put(clientId: string, packet: PersistedPacket): void {
    const encoded = encodePacket(packet)
    const brokerId = typeof packet.brokerId === 'string' ? packet.brokerId : null
    this.#put.run(
      clientId,
      brokerId,
      encoded.json,
      encoded.payload,
      encoded.payloadKind,
      Date.now(),
    )
  }

  get(clientId: string): PersistedPacket | undefined {
    const row = this.#get.get(clientId)
    return row && decodePacket(row.packet, row.payload, row.payload_kind)
  }

  delete(clientId: string): PersistedPacket | undefined {
    const row = this.#delete.get(clientId)
    return row && decodePacket(row.packet, row.payload, row.payload_kind)
  }

  /** Wills stamped by a broker not in `brokers` (aedes' map: live broker id to last heartbeat). */
  ofOtherBrokers(brokers: Record<string, unknown>): Readable {
    const live = JSON.stringify(Object.keys(brokers).filter((id) => Boolean(brokers[id])))
    let after: string | null = null
    return pagedStream((size) => {
      const rows = this.#ofOtherBrokers.all({ after, live, size })
      after = rows.at(-1)?.client_id ?? after
      return rows.map((row) => decodePacket(row.packet, row.payload, row.payload_kind))
    })
  }
}
