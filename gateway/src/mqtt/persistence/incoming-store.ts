import type { Database, Statement } from 'better-sqlite3'
import { asQueuedPacket } from './aedes-packet.js'
import { decodePacket, encodePacket } from './packet-codec.js'
import type { PersistedPacket } from './types.js'

interface PacketRow {
  packet: string
  payload: Buffer | null
  payload_kind: number
}

/**
 * Incoming QoS 2 publishes between PUBREC and PUBREL (`mqtt_incoming`, keyed by client and
 * messageId). aedes bounds them per client (`maxInflightInbound`, default 1000) and removes a
 * clean session's with `cleanIncoming`.
 */
export class IncomingStore {
  readonly #put: Statement<[string, number, string, Buffer | null, number, number]>
  readonly #get: Statement<[string, number | null], PacketRow>
  readonly #delete: Statement<[string, number | null]>
  readonly #deleteClient: Statement<[string]>

  constructor(db: Database) {
    this.#put = db.prepare(`
      INSERT OR REPLACE INTO mqtt_incoming
        (client_id, message_id, packet, payload, payload_kind, stored_at)
      VALUES (?, ?, ?, ?, ?, ?)`)
    this.#get = db.prepare(`
      SELECT packet, payload, payload_kind FROM mqtt_incoming
      WHERE client_id = ? AND message_id = ?`)
    this.#delete = db.prepare('DELETE FROM mqtt_incoming WHERE client_id = ? AND message_id = ?')
    this.#deleteClient = db.prepare('DELETE FROM mqtt_incoming WHERE client_id = ?')
  }

  put(clientId: string, packet: PersistedPacket): void {
    const messageId = packet.messageId
    if (typeof messageId !== 'number' || !Number.isInteger(messageId)) {
      throw new Error('an incoming QoS 2 packet needs an integer messageId')
    }
    const stored = asQueuedPacket(packet)
    stored.messageId = messageId
    const encoded = encodePacket(stored)
    this.#put.run(
      clientId,
      messageId,
      encoded.json,
      encoded.payload,
      encoded.payloadKind,
      Date.now(),
    )
  }

  get(clientId: string, messageId: unknown): PersistedPacket {
    const row = this.#get.get(clientId, integerOrNull(messageId))
    if (!row) throw new Error('no such packet')
    return decodePacket(row.packet, row.payload, row.payload_kind)
  }

  delete(clientId: string, messageId: unknown): void {
    if (this.#delete.run(clientId, integerOrNull(messageId)).changes === 0) {
      throw new Error('no such packet')
    }
  }

  clean(clientId: string): void {
    this.#deleteClient.run(clientId)
  }
}

function integerOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) ? value : null
}
