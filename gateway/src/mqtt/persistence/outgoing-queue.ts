import type { Readable } from 'node:stream'
import type { Database, Statement } from 'better-sqlite3'
import type { Logger } from '../../log.js'
import { asQueuedPacket } from './aedes-packet.js'
import { decodePacket, type EncodedPacket, encodeJson, encodePacket } from './packet-codec.js'
import { pagedStream } from './row-stream.js'
import type { PersistedPacket, PersistenceBroker } from './types.js'

interface PacketRow {
  seq: number
  packet: string
  payload: Buffer | null
  payload_kind: number
}

type RowValues = [
  string,
  string | null,
  number | null,
  number | null,
  string,
  Buffer | null,
  number,
  number,
]

/** Log the first drop for a client, then one line per this many more. */
const DROP_LOG_EVERY = 1000

/**
 * The per-client queue of QoS 1/2 packets (`mqtt_outgoing`): publishes waiting for an offline
 * client, publishes in flight (with the messageId of their delivery) and the pubrels that
 * replaced acknowledged QoS 2 publishes. `seq` (AUTOINCREMENT, never reused) is the queue order.
 *
 * Bounded: a client holds at most `maxPerClient` rows. At the cap an enqueue first deletes that
 * client's oldest publish not yet sent in this session (no messageId; it has never left the
 * broker since the client's last connect), so the newest messages win, as for telemetry and
 * commands where the latest state matters most; when every row is in flight, the new message is
 * not queued for that client (if it is online, aedes' `outgoingUpdate` for it then fails and aedes
 * closes that client, which has left `maxPerClient` messages unacknowledged). Either way a
 * warning is logged (the first drop, then every 1000th). Other clients' queues are untouched.
 * aedes' memory persistence has no cap.
 *
 * Row counts per client live in memory (loaded at setup; this process is the tables' only
 * writer) and are re-counted from the table before anything is dropped.
 */
export class OutgoingQueue {
  readonly #db: Database
  readonly #maxPerClient: number
  readonly #log: Pick<Logger, 'warn'> | undefined
  readonly #counts = new Map<string, number>()
  readonly #drops = new Map<string, number>()
  readonly #insert: Statement<RowValues>
  readonly #count: Statement<[string], { n: number }>
  readonly #allCounts: Statement<[], { client_id: string; n: number }>
  readonly #maxCounter: Statement<[string], { n: number | null }>
  readonly #dropOldestUnsent: Statement<[string, number]>
  readonly #byCounter: Statement<[string, string | null, number | null], { seq: number }>
  readonly #byMessageId: Statement<[string, number | null, string | null], { seq: number }>
  readonly #setMessageId: Statement<[number | null, string, number]>
  readonly #replace: Statement<
    [string | null, number | null, number | null, string, Buffer | null, number, number]
  >
  readonly #clear: Statement<[string, number | null], Omit<PacketRow, 'seq'>>
  readonly #deleteClient: Statement<[string]>
  readonly #lastSeq: Statement<[string], { n: number | null }>
  readonly #page: Statement<[string, number, number, number], PacketRow>

  constructor(db: Database, maxPerClient: number, log: Pick<Logger, 'warn'> | undefined) {
    this.#db = db
    this.#maxPerClient = maxPerClient
    this.#log = log
    this.#insert = db.prepare(`
      INSERT INTO mqtt_outgoing (client_id, broker_id, broker_counter, message_id, packet,
        payload, payload_kind, enqueued_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM mqtt_outgoing WHERE client_id = ?')
    this.#allCounts = db.prepare(
      'SELECT client_id, COUNT(*) AS n FROM mqtt_outgoing GROUP BY client_id',
    )
    this.#maxCounter = db.prepare(
      'SELECT MAX(broker_counter) AS n FROM mqtt_outgoing WHERE broker_id = ?',
    )
    this.#dropOldestUnsent = db.prepare(`
      DELETE FROM mqtt_outgoing WHERE seq IN (
        SELECT seq FROM mqtt_outgoing WHERE client_id = ? AND message_id IS NULL
        ORDER BY seq LIMIT ?)`)
    this.#byCounter = db.prepare(`
      SELECT seq FROM mqtt_outgoing
      WHERE client_id = ? AND broker_id IS ? AND broker_counter IS ? ORDER BY seq LIMIT 1`)
    this.#byMessageId = db.prepare(`
      SELECT seq FROM mqtt_outgoing
      WHERE client_id = ? AND message_id IS ? AND broker_id IS NOT ? ORDER BY seq LIMIT 1`)
    this.#setMessageId = db.prepare(`
      UPDATE mqtt_outgoing SET message_id = ?, packet = json_set(packet, '$.messageId', json(?))
      WHERE seq = ?`)
    this.#replace = db.prepare(`
      UPDATE mqtt_outgoing SET broker_id = ?, broker_counter = ?, message_id = ?, packet = ?,
        payload = ?, payload_kind = ?
      WHERE seq = ?`)
    this.#clear = db.prepare(`
      DELETE FROM mqtt_outgoing WHERE seq = (
        SELECT seq FROM mqtt_outgoing WHERE client_id = ? AND message_id IS ? ORDER BY seq LIMIT 1)
      RETURNING packet, payload, payload_kind`)
    this.#deleteClient = db.prepare('DELETE FROM mqtt_outgoing WHERE client_id = ?')
    this.#lastSeq = db.prepare('SELECT MAX(seq) AS n FROM mqtt_outgoing WHERE client_id = ?')
    this.#page = db.prepare(`
      SELECT seq, packet, payload, payload_kind FROM mqtt_outgoing
      WHERE client_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
  }

  /**
   * At setup: loads the row counts, and moves the broker's packet counter past the counters
   * already queued under its id. aedes finds a queued packet by (brokerId, brokerCounter); a
   * broker started with a fixed `id` restarts its counter at 0 and would otherwise reuse them.
   */
  load(broker: PersistenceBroker): void {
    this.#counts.clear()
    for (const row of this.#allCounts.all()) this.#counts.set(row.client_id, row.n)
    const highest = this.#maxCounter.get(broker.id)?.n ?? 0
    if (highest > broker.counter) broker.counter = highest
  }

  /** Queues one copy of `packet` per client id, in one transaction. */
  enqueue(clientIds: readonly string[], packet: PersistedPacket): void {
    const queued = asQueuedPacket(packet)
    const encoded = encodePacket(queued)
    const now = Date.now()
    const insertAll = () => {
      for (const clientId of clientIds) this.#insertOne(clientId, queued, encoded, now)
    }
    if (clientIds.length === 1) insertAll()
    else this.#db.transaction(insertAll)()
  }

  /**
   * Records a delivery attempt, as the memory persistence does: the first row (in queue order)
   * that is the same packet (same brokerId and brokerCounter) gets `packet.messageId`; failing
   * that, the first row from another broker id with the same messageId is replaced by `packet`
   * (a pubrel replacing its acknowledged publish).
   */
  update(clientId: string, packet: PersistedPacket): void {
    const brokerId = typeof packet.brokerId === 'string' ? packet.brokerId : null
    const messageId = integerOrNull(packet.messageId)
    const same = this.#byCounter.get(clientId, brokerId, integerOrNull(packet.brokerCounter))
    const other = this.#byMessageId.get(clientId, messageId, brokerId)
    if (same && (!other || same.seq < other.seq)) {
      this.#setMessageId.run(messageId, encodeJson(packet.messageId), same.seq)
      return
    }
    if (!other) throw new Error('no such packet')
    const encoded = encodePacket(packet)
    this.#replace.run(
      brokerId,
      integerOrNull(packet.brokerCounter),
      messageId,
      encoded.json,
      encoded.payload,
      encoded.payloadKind,
      other.seq,
    )
  }

  /** Removes and returns the first row with this messageId (a PUBACK or PUBCOMP arrived). */
  clear(clientId: string, messageId: unknown): PersistedPacket | undefined {
    const row = this.#clear.get(clientId, integerOrNull(messageId))
    if (!row) return undefined
    this.#adjustCount(clientId, -1)
    return decodePacket(row.packet, row.payload, row.payload_kind)
  }

  /** Empties the client's queue. */
  clean(clientId: string): void {
    this.#deleteClient.run(clientId)
    this.#counts.delete(clientId)
  }

  /**
   * The client's queue as it is when first read: rows queued later are left for the next
   * stream, rows cleared meanwhile are skipped.
   */
  stream(clientId: string): Readable {
    let after = 0
    let last: number | undefined
    return pagedStream((size) => {
      last ??= this.#lastSeq.get(clientId)?.n ?? 0
      const rows = this.#page.all(clientId, after, last, size)
      after = rows.at(-1)?.seq ?? after
      return rows.map((row) => decodePacket(row.packet, row.payload, row.payload_kind))
    })
  }

  #insertOne(clientId: string, queued: PersistedPacket, encoded: EncodedPacket, now: number) {
    if (!this.#makeRoom(clientId)) return
    this.#insert.run(
      clientId,
      typeof queued.brokerId === 'string' ? queued.brokerId : null,
      integerOrNull(queued.brokerCounter),
      integerOrNull(queued.messageId),
      encoded.json,
      encoded.payload,
      encoded.payloadKind,
      now,
    )
    this.#adjustCount(clientId, 1)
  }

  /** False when the client's queue is full of in-flight packets and this one must be dropped. */
  #makeRoom(clientId: string): boolean {
    if ((this.#counts.get(clientId) ?? 0) < this.#maxPerClient) return true
    const count = this.#count.get(clientId)?.n ?? 0
    this.#counts.set(clientId, count)
    if (count < this.#maxPerClient) return true
    const excess = count - this.#maxPerClient + 1
    const dropped = this.#dropOldestUnsent.run(clientId, excess).changes
    this.#adjustCount(clientId, -dropped)
    const fits = count - dropped < this.#maxPerClient
    this.#noteDrop(clientId, fits ? 'oldest' : 'newest')
    return fits
  }

  #noteDrop(clientId: string, which: 'oldest' | 'newest'): void {
    const drops = (this.#drops.get(clientId) ?? 0) + 1
    this.#drops.set(clientId, drops)
    if (drops !== 1 && drops % DROP_LOG_EVERY !== 0) return
    this.#log?.warn(
      { clientId, maxQueuedPerClient: this.#maxPerClient, dropped: which, dropsSinceStart: drops },
      which === 'oldest'
        ? 'MQTT session queue full: dropped the oldest unsent QoS 1/2 message to queue a new one'
        : 'MQTT session queue full of unacknowledged messages: did not queue a new QoS 1/2 message',
    )
  }

  #adjustCount(clientId: string, delta: number): void {
    const count = (this.#counts.get(clientId) ?? 0) + delta
    if (count > 0) this.#counts.set(clientId, count)
    else this.#counts.delete(clientId)
  }
}

function integerOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) ? value : null
}
