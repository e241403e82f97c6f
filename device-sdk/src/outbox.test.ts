import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeviceError } from './errors.js'
import { DEFAULT_QUEUE, Outbox, type QueueOptions, resolveQueue } from './outbox.js'
import { encodeRecord, MAGIC, parseLog, RECORD_HEADER_BYTES, RecordLog } from './record-log.js'

function queueFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'fleetcast-sdk-queue-')), 'outbox.log')
}

async function openQueue(path: string, options: QueueOptions = {}) {
  const errors: DeviceError[] = []
  const opened = await Outbox.open(path, resolveQueue(options), {
    onStorageError: (error) => errors.push(error),
  })
  return { ...opened, errors }
}

async function fill(outbox: Outbox, count: number, from = 1): Promise<void> {
  const writes: Promise<void>[] = []
  for (let n = from; n < from + count; n++)
    writes.push(outbox.add('devices/d/events/e', Buffer.from(`{"n":${n}}`), 0).written)
  await Promise.all(writes)
}

const ns = (outbox: Outbox) =>
  outbox.pending().map((m) => (JSON.parse(m.payload.toString()) as { n: number }).n)

describe('record log framing', () => {
  const types = new Set([1, 2])

  it('reads back what it wrote, and an empty or missing file as empty', async () => {
    const path = queueFile()
    const { log, records, report } = await RecordLog.open(path, {
      types: [1, 2],
      maxBodyBytes: 1024,
      fsync: false,
    })
    expect(records).toEqual([])
    expect(report).toMatchObject({ records: 0, truncatedBytes: 0, corruptRecords: 0 })
    await Promise.all([
      log.append([{ type: 1, body: Buffer.from('a') }]),
      log.append([
        { type: 2, body: Buffer.from('bb') },
        { type: 1, body: Buffer.alloc(0) },
      ]),
    ])
    await log.close()
    const parsed = parseLog(readFileSync(path), types, 1024)
    expect(parsed.records.map((r) => [r.type, r.body.toString()])).toEqual([
      [1, 'a'],
      [2, 'bb'],
      [1, ''],
    ])
    expect(readFileSync(path).subarray(0, 8).equals(MAGIC)).toBe(true)
  })

  it('cuts a truncated tail, skips corrupt records and resynchronises on the next valid one', () => {
    const records = ['one', 'two', 'three', 'four'].map((s) =>
      encodeRecord({ type: 1, body: Buffer.from(s) }),
    )
    const whole = Buffer.concat([MAGIC, ...records])
    const truncated = whole.subarray(0, whole.length - 2)
    expect(parseLog(truncated, types, 1024)).toMatchObject({
      report: { records: 3, truncatedBytes: (records[3]?.length ?? 0) - 2, corruptRecords: 0 },
    })
    const flipped = Buffer.from(whole)
    const second = MAGIC.length + (records[0]?.length ?? 0)
    flipped.writeUInt8(
      flipped.readUInt8(second + RECORD_HEADER_BYTES) ^ 0xff,
      second + RECORD_HEADER_BYTES,
    ) // a body byte of "two": its CRC fails
    const parsed = parseLog(flipped, types, 1024)
    expect(parsed.records.map((r) => r.body.toString())).toEqual(['one', 'three', 'four'])
    expect(parsed.report).toMatchObject({
      corruptRecords: 1,
      skippedBytes: records[1]?.length,
      truncatedBytes: 0,
    })
    // A huge length field, an unknown type, garbage at the end.
    const badLength = Buffer.from(whole)
    badLength.writeUInt32BE(0xfffffff0, second + 2)
    expect(parseLog(badLength, types, 1024).records).toHaveLength(3)
    const badType = Buffer.from(whole)
    badType[second + 1] = 9
    expect(parseLog(badType, types, 1024).report.corruptRecords).toBe(1)
    const garbage = Buffer.concat([whole, Buffer.from('not a record at all')])
    expect(parseLog(garbage, types, 1024).report).toMatchObject({
      records: 4,
      corruptRecords: 1,
      skippedBytes: 19,
    })
  })

  it('reads a file without its header, and a header cut short, without throwing', () => {
    const record = encodeRecord({ type: 1, body: Buffer.from('x') })
    const headless = parseLog(Buffer.concat([Buffer.from('junk'), record]), types, 1024)
    expect(headless.report.badHeader).toBe(true)
    expect(headless.records).toHaveLength(1)
    expect(parseLog(MAGIC.subarray(0, 5), types, 1024).report.truncatedBytes).toBe(5)
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))
    expect(() => parseLog(random, types, 1024)).not.toThrow()
  })
})

describe('durable outbound queue', () => {
  it('keeps messages across a reopen until they are acknowledged, in order', async () => {
    const path = queueFile()
    const first = await openQueue(path, { fsync: false })
    await fill(first.outbox, 5)
    const sent = [first.outbox.next(), first.outbox.next()]
    expect(sent.map((m) => m?.seq)).toEqual([1, 2])
    first.outbox.ack(2) // out of order: 1 is not acknowledged yet, so the cursor stays
    expect(first.outbox.messages).toBe(5)
    expect(ns(first.outbox)).toEqual([1, 3, 4, 5])
    first.outbox.ack(1)
    expect(first.outbox.messages).toBe(3)
    await first.outbox.close()

    const second = await openQueue(path)
    expect(ns(second.outbox)).toEqual([3, 4, 5])
    expect(second.report).toMatchObject({ truncatedBytes: 0, corruptRecords: 0 })
    const more = second.outbox.add('devices/d/events/e', Buffer.from('{"n":6}'), 0)
    expect(more.message.seq).toBe(6)
    await more.written
    second.outbox.rewind()
    const order: number[] = []
    for (let m = second.outbox.next(); m; m = second.outbox.next()) order.push(m.seq)
    expect(order).toEqual([3, 4, 5, 6])
    await second.outbox.close()
  })

  it('recovers from a truncated tail: the whole messages survive, the cut one is reported', async () => {
    const path = queueFile()
    const { outbox } = await openQueue(path)
    await fill(outbox, 4)
    await outbox.close()
    truncateSync(path, readFileSync(path).length - 3)
    const reopened = await openQueue(path)
    expect(ns(reopened.outbox)).toEqual([1, 2, 3])
    expect(reopened.report.truncatedBytes).toBeGreaterThan(0)
    expect(readFileSync(`${path}.bad`).length).toBe(reopened.report.fileBytes)
    // Repaired in place: new messages follow a clean record boundary.
    await fill(reopened.outbox, 1, 9)
    await reopened.outbox.close()
    const again = await openQueue(path)
    expect(ns(again.outbox)).toEqual([1, 2, 3, 9])
    expect(again.report).toMatchObject({ truncatedBytes: 0, corruptRecords: 0 })
    await again.outbox.close()
  })

  it('skips a corrupt record and keeps the ones after it', async () => {
    const path = queueFile()
    const { outbox } = await openQueue(path)
    await fill(outbox, 3)
    await outbox.close()
    const bytes = readFileSync(path)
    const second = bytes.indexOf('{"n":2}')
    bytes.writeUInt8(bytes.readUInt8(second + 1) ^ 0x55, second + 1)
    writeFileSync(path, bytes)
    const reopened = await openQueue(path)
    expect(ns(reopened.outbox)).toEqual([1, 3])
    expect(reopened.report.corruptRecords).toBe(1)
    await reopened.outbox.close()
  })

  it('starts empty from a file of garbage, and keeps the garbage aside', async () => {
    const path = queueFile()
    writeFileSync(path, 'this is not a queue file\n'.repeat(100))
    const { outbox, report } = await openQueue(path)
    expect(outbox.messages).toBe(0)
    expect(report.badHeader).toBe(true)
    expect(readFileSync(`${path}.bad`, 'utf8')).toContain('not a queue file')
    await fill(outbox, 2)
    expect(ns(outbox)).toEqual([1, 2])
    await outbox.close()
  })

  it('drops the oldest messages when full under dropOldest, and reports it', async () => {
    const path = queueFile()
    const { outbox } = await openQueue(path, { maxMessages: 3 })
    await fill(outbox, 3)
    const added = outbox.add('devices/d/events/e', Buffer.from('{"n":4}'), 0)
    await added.written
    expect(added.overflow).toEqual({
      policy: 'dropOldest',
      dropped: 1,
      droppedBytes: 25,
      messages: 3,
      bytes: 75,
    })
    expect(ns(outbox)).toEqual([2, 3, 4])
    await outbox.close()
    // The drop is durable: a reopen does not bring the dropped message back.
    const reopened = await openQueue(path, { maxMessages: 3 })
    expect(ns(reopened.outbox)).toEqual([2, 3, 4])
    await reopened.outbox.close()
  })

  it('enforces the byte bound too', async () => {
    const { outbox } = await openQueue(queueFile(), { maxBytes: 60 })
    await fill(outbox, 2) // 25 bytes each
    const added = outbox.add('devices/d/events/e', Buffer.from('{"n":3}'), 0)
    expect(added.overflow?.dropped).toBe(1)
    await added.written
    expect(outbox.bytes).toBe(50)
    expect(() => outbox.add('devices/d/events/e', Buffer.alloc(61), 0)).toThrow(
      /larger than the whole queue/,
    )
    await outbox.close()
  })

  it('refuses the new message when full under dropNewest', async () => {
    const { outbox } = await openQueue(queueFile(), { maxMessages: 2, whenFull: 'dropNewest' })
    await fill(outbox, 2)
    let error: unknown
    try {
      outbox.add('devices/d/events/e', Buffer.from('{"n":3}'), 0)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(DeviceError)
    expect(error).toMatchObject({
      code: 'queue_full',
      overflow: { policy: 'dropNewest', dropped: 1 },
    })
    expect(ns(outbox)).toEqual([1, 2])
    await outbox.close()
  })

  it('compacts the file once acknowledged records dominate it', async () => {
    const path = queueFile()
    const { outbox } = await openQueue(path, { fsync: false })
    const big = Buffer.alloc(4000, 0x61)
    for (let round = 0; round < 120; round++) {
      const { message, written } = outbox.add('devices/d/events/e', big, 0)
      await written
      outbox.ack(message.seq)
    }
    await fill(outbox, 1, 500)
    await new Promise<void>((resolve) => setImmediate(resolve))
    await outbox.close()
    expect(readFileSync(path).length).toBeLessThan(256 * 1024)
    const reopened = await openQueue(path)
    expect(ns(reopened.outbox)).toEqual([500])
    await reopened.outbox.close()
  })

  it('refuses bad queue settings', () => {
    expect(resolveQueue()).toEqual(DEFAULT_QUEUE)
    expect(() => resolveQueue({ maxMessages: 0 })).toThrow(/queue.maxMessages/)
    expect(() => resolveQueue({ maxBytes: 1.5 })).toThrow(/queue.maxBytes/)
    expect(() => resolveQueue({ whenFull: 'block' as 'dropOldest' })).toThrow(/whenFull/)
    expect(() => resolveQueue({ fsync: 'yes' as unknown as boolean })).toThrow(/fsync/)
  })
})
