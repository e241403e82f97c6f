import { DeviceError } from './errors.js'
import { RecordLog, type RecoveryReport } from './record-log.js'

/**
 * The commands this device has seen, kept on disk so that a command is never run twice, also
 * across a restart. A command is recorded as started before the gateway gets its PUBACK and as
 * finished with its ack before the ack is queued. Seen again:
 * - finished: the stored ack is sent again, the handler does not run;
 * - started in this process: ignored (the running handler will ack);
 * - started by an earlier process that died while running it: acked as `interrupted`, not rerun
 *   (at most once: a command such as "open the door" is not repeated behind the user's back).
 */
export interface JournalOptions {
  /** Command ids remembered. Default 1000. */
  maxEntries?: number
  /** How long an id is remembered. Default 7 days. */
  maxAgeMs?: number
}

export interface JournalEntry {
  at: number
  /** The ack payload (JSON) once the command finished. */
  ack: string | undefined
}

const STARTED = 3
const FINISHED = 4

function body(value: object): Buffer {
  return Buffer.from(JSON.stringify(value))
}

export class CommandJournal {
  readonly #log: RecordLog
  readonly #entries = new Map<string, JournalEntry>()
  readonly #maxEntries: number
  readonly #maxAgeMs: number
  #written = 0

  private constructor(log: RecordLog, maxEntries: number, maxAgeMs: number) {
    this.#log = log
    this.#maxEntries = maxEntries
    this.#maxAgeMs = maxAgeMs
  }

  static async open(
    path: string,
    options: Required<JournalOptions> & { fsync: boolean },
    now: number,
  ): Promise<{ journal: CommandJournal; report: RecoveryReport }> {
    const { log, records, report } = await RecordLog.open(path, {
      types: [STARTED, FINISHED],
      maxBodyBytes: 1024 * 1024,
      fsync: options.fsync,
    })
    const journal = new CommandJournal(log, options.maxEntries, options.maxAgeMs)
    for (const record of records) {
      let value: { id?: unknown; at?: unknown; ack?: unknown }
      try {
        value = JSON.parse(record.body.toString('utf8')) as typeof value
      } catch {
        continue
      }
      if (typeof value.id !== 'string' || typeof value.at !== 'number') continue
      const known = journal.#entries.get(value.id)
      if (record.type === STARTED && !known)
        journal.#entries.set(value.id, { at: value.at, ack: undefined })
      if (record.type === FINISHED && typeof value.ack === 'string')
        journal.#entries.set(value.id, { at: known?.at ?? value.at, ack: value.ack })
    }
    journal.#written = records.length
    journal.#prune(now)
    if (journal.#written > 2 * journal.#entries.size + 64) await journal.#compact()
    return { journal, report }
  }

  get size(): number {
    return this.#entries.size
  }

  get(id: string): JournalEntry | undefined {
    return this.#entries.get(id)
  }

  /** Records that the command started; resolves once it is on disk. */
  async started(id: string, at: number): Promise<void> {
    this.#entries.set(id, { at, ack: undefined })
    this.#prune(at)
    await this.#append(STARTED, { id, at })
  }

  /** Records the command's ack; resolves once it is on disk. */
  async finished(id: string, at: number, ack: string): Promise<void> {
    const entry = this.#entries.get(id)
    this.#entries.set(id, { at: entry?.at ?? at, ack })
    await this.#append(FINISHED, { id, at, ack })
  }

  close(): Promise<void> {
    return this.#log.close()
  }

  async #append(type: number, value: object): Promise<void> {
    try {
      await this.#log.append([{ type, body: body(value) }])
      this.#written += 1
      if (this.#written > 2 * this.#maxEntries + 64) await this.#compact()
    } catch (error) {
      throw new DeviceError('storage_failed', `could not write ${this.#log.path}`, { cause: error })
    }
  }

  #prune(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && now - entry.at <= this.#maxAgeMs) break
      this.#entries.delete(id)
    }
  }

  async #compact(): Promise<void> {
    const records = [...this.#entries].flatMap(([id, entry]) => [
      { type: STARTED, body: body({ id, at: entry.at }) },
      ...(entry.ack === undefined
        ? []
        : [{ type: FINISHED, body: body({ id, at: entry.at, ack: entry.ack }) }]),
    ])
    this.#written = records.length
    await this.#log.rewrite(records)
  }
}
