import { type FileHandle, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'

/**
 * An append-only file of framed records, the storage under the outbound queue and the command
 * journal. Layout:
 *
 *   file   = MAGIC (8 bytes: "FCLOG", 0, 0, version 1) record*
 *   record = 0xFC | type (u8) | body length (u32 BE) | CRC-32 of type and body (u32 BE) | body
 *
 * Appends go through one writer: concurrent appends are written together and synced once (group
 * commit). Compaction writes a new file next to the old one, syncs it, and renames it over the
 * old one, so a crash leaves either file whole. Reading never throws on bad content: a truncated
 * tail (a crash mid-append) is cut off, a corrupt record is skipped by scanning for the next one
 * whose frame and CRC check, and both are counted in the report.
 */
export const MAGIC = Buffer.from([0x46, 0x43, 0x4c, 0x4f, 0x47, 0, 0, 1])
const MARK = 0xfc
export const RECORD_HEADER_BYTES = 10

export interface LogRecord {
  type: number
  body: Buffer
}

export interface RecoveryReport {
  /** Bytes of the file as found. */
  fileBytes: number
  /** Records that checked. */
  records: number
  /** Bytes of an incomplete last record, cut off. */
  truncatedBytes: number
  /** Stretches of bytes that were not a valid record, skipped. */
  corruptRecords: number
  /** Bytes in those stretches. */
  skippedBytes: number
  /** The file did not start with the expected header. */
  badHeader: boolean
}

export function hasProblems(report: RecoveryReport): boolean {
  return report.truncatedBytes > 0 || report.corruptRecords > 0 || report.badHeader
}

export function encodeRecord(record: LogRecord): Buffer {
  const frame = Buffer.allocUnsafe(RECORD_HEADER_BYTES + record.body.length)
  frame[0] = MARK
  frame[1] = record.type
  frame.writeUInt32BE(record.body.length, 2)
  record.body.copy(frame, RECORD_HEADER_BYTES)
  frame.writeUInt32BE(crc32(frame.subarray(RECORD_HEADER_BYTES), crc32(frame.subarray(1, 2))), 6)
  return frame
}

type Attempt = { ok: true; record: LogRecord; end: number } | { ok: false; truncated: boolean }

function readRecord(
  buf: Buffer,
  pos: number,
  types: ReadonlySet<number>,
  maxBody: number,
): Attempt {
  if (buf.length - pos < RECORD_HEADER_BYTES) return { ok: false, truncated: buf[pos] === MARK }
  const type = buf[pos + 1] as number
  const length = buf.readUInt32BE(pos + 2)
  if (buf[pos] !== MARK || !types.has(type) || length > maxBody)
    return { ok: false, truncated: false }
  const end = pos + RECORD_HEADER_BYTES + length
  if (end > buf.length) return { ok: false, truncated: true }
  const body = buf.subarray(pos + RECORD_HEADER_BYTES, end)
  if (crc32(body, crc32(buf.subarray(pos + 1, pos + 2))) !== buf.readUInt32BE(pos + 6))
    return { ok: false, truncated: false }
  return { ok: true, record: { type, body: Buffer.from(body) }, end }
}

/** Offset of the next valid record after `pos`, or -1. */
function resync(buf: Buffer, pos: number, types: ReadonlySet<number>, maxBody: number): number {
  let at = buf.indexOf(MARK, pos + 1)
  while (at !== -1) {
    if (readRecord(buf, at, types, maxBody).ok) return at
    at = buf.indexOf(MARK, at + 1)
  }
  return -1
}

/** Every valid record of a log file's bytes, and what was wrong with the rest. */
export function parseLog(
  buf: Buffer,
  types: ReadonlySet<number>,
  maxBody: number,
): { records: LogRecord[]; report: RecoveryReport } {
  const report: RecoveryReport = {
    fileBytes: buf.length,
    records: 0,
    truncatedBytes: 0,
    corruptRecords: 0,
    skippedBytes: 0,
    badHeader: false,
  }
  const records: LogRecord[] = []
  let pos = 0
  if (buf.length > 0) {
    if (buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC))
      pos = MAGIC.length
    else if (buf.length < MAGIC.length && MAGIC.subarray(0, buf.length).equals(buf)) {
      // A crash while the file was being created.
      report.truncatedBytes = buf.length
      return { records, report }
    } else report.badHeader = true
  }
  while (pos < buf.length) {
    const attempt = readRecord(buf, pos, types, maxBody)
    if (attempt.ok) {
      records.push(attempt.record)
      pos = attempt.end
      continue
    }
    const next = resync(buf, pos, types, maxBody)
    if (next === -1) {
      // Nothing valid follows: an incomplete last append, or garbage to the end.
      if (attempt.truncated) report.truncatedBytes += buf.length - pos
      else {
        report.corruptRecords += 1
        report.skippedBytes += buf.length - pos
      }
      break
    }
    // With a bad header, bytes before the first record are the header's fault, not a record's.
    if (!(report.badHeader && records.length === 0 && report.corruptRecords === 0 && pos === 0))
      report.corruptRecords += 1
    report.skippedBytes += next - pos
    pos = next
  }
  report.records = records.length
  return { records, report }
}

interface Task {
  kind: 'append' | 'rewrite'
  bytes: Buffer
  sync: boolean
  resolve: () => void
  reject: (error: unknown) => void
}

export interface RecordLogOptions {
  /** Record types this log holds; others are treated as corruption. */
  types: readonly number[]
  /** Largest body a record may have; a larger length field is treated as corruption. */
  maxBodyBytes: number
  /** Sync every write to the device (survives power loss, not only a process crash). */
  fsync: boolean
}

export class RecordLog {
  readonly path: string
  readonly #options: RecordLogOptions
  #handle: FileHandle
  #bytes: number
  readonly #tasks: Task[] = []
  #busy: Promise<void> | undefined
  #closed = false

  private constructor(path: string, handle: FileHandle, bytes: number, options: RecordLogOptions) {
    this.path = path
    this.#handle = handle
    this.#bytes = bytes
    this.#options = options
  }

  /**
   * Opens (or creates) the log and reads it. When the file had problems, its good records are
   * written back at once (the original is kept as `{path}.bad`), so later appends follow a clean
   * record boundary.
   */
  static async open(
    path: string,
    options: RecordLogOptions,
  ): Promise<{ log: RecordLog; records: LogRecord[]; report: RecoveryReport }> {
    await mkdir(dirname(path), { recursive: true })
    let buf: Buffer
    try {
      buf = await readFile(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      buf = Buffer.alloc(0)
    }
    const { records, report } = parseLog(buf, new Set(options.types), options.maxBodyBytes)
    if (buf.length === 0 || hasProblems(report)) {
      if (hasProblems(report)) await writeFile(`${path}.bad`, buf)
      await writeWhole(path, Buffer.concat([MAGIC, ...records.map(encodeRecord)]))
    }
    const handle = await open(path, 'a')
    const { size } = await handle.stat()
    return { log: new RecordLog(path, handle, size, options), records, report }
  }

  /** Bytes in the file, once the writes queued so far are done. */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * Appends records; resolves once they are written, and synced when `sync` (default: the
   * log's `fsync`). An unsynced record survives a crash of the process, not a power cut.
   */
  append(records: readonly LogRecord[], sync = this.#options.fsync): Promise<void> {
    return this.#enqueue('append', Buffer.concat(records.map(encodeRecord)), sync)
  }

  /**
   * Replaces the whole file with `records` (compaction). Appends queued before it are superseded
   * by it; appends queued after it follow it.
   */
  rewrite(records: readonly LogRecord[]): Promise<void> {
    return this.#enqueue('rewrite', Buffer.concat([MAGIC, ...records.map(encodeRecord)]), true)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#busy
    await this.#handle.close()
  }

  #enqueue(kind: Task['kind'], bytes: Buffer, sync: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.path} is closed`))
    return new Promise<void>((resolve, reject) => {
      this.#tasks.push({ kind, bytes, sync, resolve, reject })
      this.#busy ??= this.#drain().finally(() => {
        this.#busy = undefined
      })
    })
  }

  async #drain(): Promise<void> {
    while (this.#tasks.length > 0) {
      // A rewrite makes earlier queued appends moot: its content already includes them.
      const lastRewrite = this.#tasks.findLastIndex((task) => task.kind === 'rewrite')
      const batch =
        lastRewrite >= 0
          ? this.#tasks.splice(0, lastRewrite + 1)
          : this.#tasks.splice(0, this.#tasks.length)
      try {
        if (lastRewrite >= 0) {
          const rewrite = batch[batch.length - 1] as Task
          await this.#handle.close()
          try {
            await writeWhole(this.path, rewrite.bytes)
            this.#bytes = rewrite.bytes.length
          } finally {
            // On failure the old file is intact: keep appending to it.
            this.#handle = await open(this.path, 'a')
          }
        } else {
          const bytes = Buffer.concat(batch.map((task) => task.bytes))
          await writeAll(this.#handle, bytes)
          if (batch.some((task) => task.sync)) await this.#handle.datasync()
          this.#bytes += bytes.length
        }
        for (const task of batch) task.resolve()
      } catch (error) {
        for (const task of batch) task.reject(error)
      }
    }
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
    offset += bytesWritten
  }
}

/** Writes a file next to `path`, syncs it, renames it over `path`, and syncs the directory. */
async function writeWhole(path: string, bytes: Buffer): Promise<void> {
  const temp = `${path}.tmp`
  const handle = await open(temp, 'w')
  try {
    await writeAll(handle, bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temp, path)
  try {
    const dir = await open(dirname(path), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  } catch {
    // Some platforms cannot sync a directory; the rename itself is still atomic.
  }
}
