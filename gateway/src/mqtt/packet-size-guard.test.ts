import { describe, expect, it } from 'vitest'
import { PacketSizeGuard } from './packet-size-guard.js'

function run(maxBytes: number, chunks: Buffer[]): Promise<{ passed: Buffer; error?: Error }> {
  return new Promise((resolve) => {
    const guard = new PacketSizeGuard(maxBytes)
    const out: Buffer[] = []
    guard.on('data', (chunk: Buffer) => out.push(chunk))
    guard.on('error', (error) => resolve({ passed: Buffer.concat(out), error }))
    guard.on('end', () => resolve({ passed: Buffer.concat(out) }))
    for (const chunk of chunks) guard.write(chunk)
    guard.end()
  })
}

describe('PacketSizeGuard', () => {
  it('passes packets under the limit unchanged, across chunk boundaries', async () => {
    const pingreq = Buffer.from([0xc0, 0x00])
    const publish = Buffer.concat([
      Buffer.from([0x30, 0x0a, 0x00, 0x03]),
      Buffer.from('a/b'),
      Buffer.from('hello'),
    ])
    const bytes = Buffer.concat([pingreq, publish, pingreq])
    const split = [bytes.subarray(0, 3), bytes.subarray(3, 9), bytes.subarray(9)]
    const result = await run(64, split)
    expect(result.error).toBeUndefined()
    expect(result.passed.equals(bytes)).toBe(true)
  })

  it('fails as soon as a header announces more than the limit, with a multi-byte length', async () => {
    // remaining length 200 = 0xc8 0x01
    const header = Buffer.from([0x30, 0xc8, 0x01])
    const result = await run(128, [header])
    expect(result.error?.message).toBe('packet of 203 bytes exceeds mqtt.maxPacketBytes')
  })

  it('fails on a remaining length longer than four bytes', async () => {
    const result = await run(1 << 30, [Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])])
    expect(result.error?.message).toMatch(/malformed remaining length/)
  })
})
