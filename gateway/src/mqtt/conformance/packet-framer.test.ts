import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PacketFramer } from './packet-framer.js'

const publish = (body: number[]) => [0x30, body.length, ...body]

describe('PacketFramer', () => {
  it('passes a chunk of whole packets it holds and keeps as one view of the chunk', () => {
    const framer = new PacketFramer(
      (first) => first >> 4 === 3,
      (packet) => packet,
    )
    const chunk = Buffer.from([
      ...publish([0, 1, 0x61, 1]),
      0xc0,
      0x00,
      ...publish([0, 1, 0x62, 2, 3]),
    ])
    const parts = framer.feed(chunk)
    expect(parts).toHaveLength(1)
    expect(parts?.[0]?.buffer).toBe(chunk.buffer)
    expect(parts?.[0]?.equals(chunk)).toBe(true)
  })

  it('keeps a replacement and a packet split across chunks apart from the bytes around them', () => {
    const framer = new PacketFramer(
      (first) => first >> 4 === 3,
      (packet) => (packet[2] === 0xff ? Buffer.from([0x30, 0x00]) : packet),
    )
    const first = framer.feed(Buffer.from([0xc0, 0x00, 0x30, 0x01]))
    expect(first?.map((part) => [...part])).toEqual([[0xc0, 0x00]])
    const second = framer.feed(Buffer.from([0xff, 0xd0, 0x00]))
    expect(second?.map((part) => [...part])).toEqual([
      [0x30, 0x00],
      [0xd0, 0x00],
    ])
  })
})

/** An MQTT packet: type byte, remaining length [MQTT-2.2.3], body. */
function packet(type: number, body: number[]): number[] {
  const length: number[] = []
  let rest = body.length
  do {
    length.push((rest % 128) | (rest >= 128 ? 0x80 : 0))
    rest = Math.floor(rest / 128)
  } while (rest > 0)
  return [type << 4, ...length, ...body]
}

describe('PacketFramer on any split of any packet stream', () => {
  it('hands every held packet to complete once, whole, and passes everything else unchanged', () => {
    const packets = fc.array(
      fc.record({
        type: fc.constantFrom(3, 12, 13),
        body: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }),
      }),
      { maxLength: 12 },
    )
    const cuts = fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 8 })
    fc.assert(
      fc.property(packets, cuts, (stream, cutPoints) => {
        const encoded = stream.map(({ type, body }) => packet(type, body))
        const bytes = Buffer.from(encoded.flat())
        const completed: number[][] = []
        // Held packets of an odd length are replaced; the rest pass as they are.
        const replacement = Buffer.from([0xe0, 0x00])
        const framer = new PacketFramer(
          (first) => first >> 4 === 3,
          (whole) => {
            completed.push([...whole])
            return whole.length % 2 === 1 ? replacement : whole
          },
        )
        const bounds = [...new Set(cutPoints.map((c) => c % (bytes.length + 1)))].sort(
          (a, b) => a - b,
        )
        const out: number[] = []
        let from = 0
        for (const to of [...bounds, bytes.length]) {
          const parts = framer.feed(bytes.subarray(from, to))
          expect(parts).toBeDefined()
          for (const part of parts ?? []) out.push(...part)
          from = to
        }
        const held = encoded.filter((p) => (p[0] ?? 0) >> 4 === 3)
        expect(completed).toEqual(held)
        const expected = encoded.flatMap((p) =>
          (p[0] ?? 0) >> 4 === 3 && p.length % 2 === 1 ? [...replacement] : p,
        )
        expect(out).toEqual(expected)
      }),
    )
  })
})
