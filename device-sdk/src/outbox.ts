import { DeviceError } from './errors.js'
import { type LogRecord, RecordLog, type RecoveryReport } from './record-log.js'

/**
 * The durable, bounded outbound queue. Every publish is appended to a record log before it is
 * sent; PUBACKs advance an ack cursor that is appended too; a message leaves the queue only once
 * the gateway acknowledged it (or the full policy dropped it). On open, messages after the cursor
 * are pending again, in order. The file is compacted when acknowledged records dominate it.
 */
export type OverflowPolicy = 'dropOldest' | 'dropNewest'

export interface QueueOptions {
  /** Messages the queue may hold. Default 10 000. */
  maxMessages?: number
  /** Bytes (topics and payloads) the queue may hold. Default 8 MiB. */
  maxBytes?: number
  /**
   * What a publish does to a full queue. `dropOldest` (default): the oldest queued messages are
   * dropped to make room, and `queue.overflow` reports them. `dropNewest`: the new publish is
   * refused with `queue_full`, and `queue.overflow` reports it.
   */
  whenFull?: OverflowPolicy
  /** Sync the file on every write (survives power loss, not only a crash). Default true. */
  fsync?: boolean
}

export type ResolvedQueueOptions = Required<QueueOptions>

export const DEFAULT_QUEUE: ResolvedQueueOptions = {
  maxMessages: 10_000,
  maxBytes: 8 * 1024 * 1024,
  whenFull: 'dropOldest',
  fsync: true,
}

export function resolveQueue(options: QueueOptions = {}): ResolvedQueueOptions {
  const resolved = { ...DEFAULT_QUEUE }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value
  }
  for (const key of ['maxMessages', 'maxBytes'] as const) {
    const value = resolved[key]
    if (!Number.isSafeInteger(value) || value < 1)
      throw new TypeError(`queue.${key} must be a positive integer, got ${String(value)}`)
  }
  if (resolved.whenFull !== 'dropOldest' && resolved.whenFull !== 'dropNewest')
    throw new TypeError(
      `queue.whenFull must be "dropOldest" or "dropNewest", got ${String(resolved.whenFull)}`,
    )
  if (typeof resolved.fsync !== 'boolean')
    throw new TypeError(`queue.fsync must be a boolean, got ${String(resolved.fsync)}`)
  return resolved
}

export interface QueuedMessage {
  seq: number
  topic: string
  payload: Buffer
  createdAt: number
  bytes: number
  durable: boolean
  acked: boolean
}

export interface Overflow {
  policy: OverflowPolicy
  /** Messages dropped: the oldest ones (`dropOldest`) or the refused one (`dropNewest`). */
  dropped: number
  droppedBytes: number
  /** Messages and bytes in the queue afterwards. */
  messages: number
  bytes: number
}

const MESSAGE = 1
const CURSOR = 2
const MAX_BODY = 32 * 1024 * 1024
const MIN_COMPACT_BYTES = 256 * 1024

function messageRecord(message: QueuedMessage): LogRecord {
  const topic = Buffer.from(message.topic)
  const body = Buffer.allocUnsafe(18 + topic.length + message.payload.length)
  body.writeBigUInt64BE(BigInt(message.seq), 0)
  body.writeDoubleBE(message.createdAt, 8)
  body.writeUInt16BE(topic.length, 16)
  topic.copy(body, 18)
  message.payload.copy(body, 18 + topic.length)
  return { type: MESSAGE, body }
}

function cursorRecord(cursor: number): LogRecord {
  const body = Buffer.allocUnsafe(8)
  body.writeBigUInt64BE(BigInt(cursor), 0)
  return { type: CURSOR, body }
}

function decodeMessage(body: Buffer): QueuedMessage | undefined {
  if (body.length < 18) return undefined
  const topicLength = body.readUInt16BE(16)
  if (18 + topicLength > body.length) return undefined
  const topic = body.toString('utf8', 18, 18 + topicLength)
  const payload = Buffer.from(body.subarray(18 + topicLength))
  const seq = Number(body.readBigUInt64BE(0))
  return {
    seq,
    topic,
    payload,
    createdAt: body.readDoubleBE(8),
    bytes: topicLength + payload.length,
    durable: true,
    acked: false,
  }
}

export interface OutboxHooks {
  /** A write of the cursor or a compaction failed (the messages stay queued). */
  onStorageError(error: DeviceError): void
}

export class Outbox {
  readonly #log: RecordLog
  readonly #options: ResolvedQueueOptions
  readonly #hooks: OutboxHooks
  #entries: QueuedMessage[]
  #head = 0
  #sendPos = 0
  #cursor: number
  #nextSeq: number
  #bytes = 0
  #cursorDirty = false
  #compacting = false
  #closed = false
  readonly #drainWaiters = new Set<() => void>()

  private constructor(
    log: RecordLog,
    options: ResolvedQueueOptions,
    hooks: OutboxHooks,
    entries: QueuedMessage[],
    cursor: number,
    nextSeq: number,
  ) {
    this.#log = log
    this.#options = options
    this.#hooks = hooks
    this.#entries = entries
    this.#cursor = cursor
    this.#nextSeq = nextSeq
    for (const entry of entries) this.#bytes += entry.bytes
  }

  static async open(
    path: string,
    options: ResolvedQueueOptions,
    hooks: OutboxHooks,
  ): Promise<{ outbox: Outbox; report: RecoveryReport; invalidMessages: number }> {
    const { log, records, report } = await RecordLog.open(path, {
      types: [MESSAGE, CURSOR],
      maxBodyBytes: MAX_BODY,
      fsync: options.fsync,
    })
    let cursor = 0
    let lastSeq = 0
    let invalidMessages = 0
    const messages: QueuedMessage[] = []
    for (const record of records) {
      if (record.type === CURSOR && record.body.length === 8) {
        cursor = Math.max(cursor, Number(record.body.readBigUInt64BE(0)))
        continue
      }
      const message = record.type === MESSAGE ? decodeMessage(record.body) : undefined
      // A record whose CRC checks but whose content does not, or a sequence out of order.
      if (!message || message.seq <= lastSeq) {
        invalidMessages += 1
        continue
      }
      lastSeq = message.seq
      messages.push(message)
    }
    const pending = messages.filter((message) => message.seq > cursor)
    const outbox = new Outbox(log, options, hooks, pending, cursor, Math.max(lastSeq, cursor) + 1)
    if (log.bytes > MIN_COMPACT_BYTES && log.bytes > 2 * outbox.#liveFileBytes())
      await outbox.#compact()
    return { outbox, report, invalidMessages }
  }

  /** Messages waiting for a PUBACK (sent or not). */
  get messages(): number {
    return this.#entries.length - this.#head
  }

  get bytes(): number {
    return this.#bytes
  }

  /** The file's size. */
  get fileBytes(): number {
    return this.#log.bytes
  }

  /**
   * Queues a message: it is durable once `written` resolves. Applies the full policy first.
   * Throws `queue_full` under `dropNewest`, or when the message alone exceeds `maxBytes`.
   */
  add(
    topic: string,
    payload: Buffer,
    createdAt: number,
  ): { message: QueuedMessage; written: Promise<void>; overflow: Overflow | undefined } {
    const bytes = Buffer.byteLength(topic) + payload.length
    const { maxMessages, maxBytes, whenFull } = this.#options
    const fits = () => this.messages + 1 <= maxMessages && this.#bytes + bytes <= maxBytes
    let overflow: Overflow | undefined
    if (!fits()) {
      if (whenFull === 'dropNewest' || bytes > maxBytes) {
        const refused: Overflow = {
          policy: whenFull,
          dropped: 1,
          droppedBytes: bytes,
          messages: this.messages,
          bytes: this.#bytes,
        }
        throw Object.assign(
          new DeviceError(
            'queue_full',
            bytes > maxBytes
              ? `message of ${bytes} bytes is larger than the whole queue (queue.maxBytes ${maxBytes})`
              : `queue is full (${this.messages} messages, ${this.#bytes} bytes; policy dropNewest)`,
          ),
          { overflow: refused },
        )
      }
      overflow = { policy: whenFull, dropped: 0, droppedBytes: 0, messages: 0, bytes: 0 }
      while (!fits() && this.messages > 0) {
        const oldest = this.#entries[this.#head] as QueuedMessage
        oldest.acked = true
        overflow.dropped += 1
        overflow.droppedBytes += oldest.bytes
        this.#advance()
      }
    }
    const message: QueuedMessage = {
      seq: this.#nextSeq++,
      topic,
      payload,
      createdAt,
      bytes,
      durable: false,
      acked: false,
    }
    this.#entries.push(message)
    this.#bytes += bytes
    if (overflow) {
      overflow.messages = this.messages
      overflow.bytes = this.#bytes
    }
    const written = this.#log.append([messageRecord(message)]).then(
      () => {
        message.durable = true
      },
      (error: unknown) => {
        // Never durable: it leaves the queue as if dropped, and the publish fails.
        if (!message.acked) {
          message.acked = true
          this.#advance()
        }
        throw new DeviceError(
          'storage_failed',
          `could not write the queue file ${this.#log.path}`,
          {
            cause: error,
          },
        )
      },
    )
    return { message, written, overflow }
  }

  /** Starts sending again from the oldest unacknowledged message (after a reconnect). */
  rewind(): void {
    this.#sendPos = this.#head
  }

  /** The next durable message to send, in order; undefined while the next one is not yet durable. */
  next(): QueuedMessage | undefined {
    if (this.#sendPos < this.#head) this.#sendPos = this.#head
    while (this.#sendPos < this.#entries.length) {
      const message = this.#entries[this.#sendPos] as QueuedMessage
      if (!message.durable && !message.acked) return undefined
      this.#sendPos += 1
      if (!message.acked) return message
    }
    return undefined
  }

  /** The gateway acknowledged `seq` (PUBACK). */
  ack(seq: number): void {
    const message = this.#find(seq)
    if (!message || message.acked) return
    message.acked = true
    this.#advance()
  }

  /** Resolves once the queue is empty (or `signal` aborts: then check `messages`). */
  drained(signal?: AbortSignal): Promise<void> {
    if (this.messages === 0 || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      this.#drainWaiters.add(resolve)
      signal?.addEventListener('abort', () => {
        this.#drainWaiters.delete(resolve)
        resolve()
      })
    })
  }

  /** Every queued message, oldest first (for inspection and tests). */
  pending(): readonly QueuedMessage[] {
    return this.#entries.slice(this.#head).filter((message) => !message.acked)
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#cursorDirty) {
      this.#cursorDirty = false
      await this.#log.append([cursorRecord(this.#cursor)]).catch(() => undefined)
    }
    await this.#log.close()
  }

  #find(seq: number): QueuedMessage | undefined {
    let low = this.#head
    let high = this.#entries.length - 1
    while (low <= high) {
      const middle = (low + high) >> 1
      const message = this.#entries[middle] as QueuedMessage
      if (message.seq === seq) return message
      if (message.seq < seq) low = middle + 1
      else high = middle - 1
    }
    return undefined
  }

  /** Moves the cursor over the acknowledged (or dropped) messages at the head. */
  #advance(): void {
    let moved = false
    while (this.#head < this.#entries.length) {
      const head = this.#entries[this.#head] as QueuedMessage
      if (!head.acked) break
      this.#cursor = head.seq
      this.#bytes -= head.bytes
      this.#head += 1
      moved = true
    }
    if (!moved) return
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#sendPos = Math.max(0, this.#sendPos - this.#head)
      this.#head = 0
    }
    if (!this.#cursorDirty) {
      this.#cursorDirty = true
      queueMicrotask(() => this.#persistCursor())
    }
    if (this.messages === 0) {
      for (const resolve of this.#drainWaiters) resolve()
      this.#drainWaiters.clear()
    }
  }

  #persistCursor(): void {
    if (!this.#cursorDirty || this.#closed) return
    this.#cursorDirty = false
    // Not synced: a cursor lost in a power cut only means messages are sent again (QoS 1).
    this.#log.append([cursorRecord(this.#cursor)], false).then(
      () => {
        if (!this.#closed && !this.#compacting && this.#log.bytes > MIN_COMPACT_BYTES) {
          if (this.#log.bytes > 2 * this.#liveFileBytes()) void this.#compact()
        }
      },
      (error: unknown) => this.#storageError(error),
    )
  }

  #liveFileBytes(): number {
    return 64 + this.#bytes + 28 * this.messages
  }

  async #compact(): Promise<void> {
    this.#compacting = true
    try {
      const live = this.#entries.slice(this.#head).filter((message) => !message.acked)
      await this.#log.rewrite([cursorRecord(this.#cursor), ...live.map(messageRecord)])
    } catch (error) {
      this.#storageError(error)
    } finally {
      this.#compacting = false
    }
  }

  #storageError(error: unknown): void {
    if (this.#closed) return
    this.#hooks.onStorageError(
      new DeviceError('storage_failed', `could not write the queue file ${this.#log.path}`, {
        cause: error,
      }),
    )
  }
}
