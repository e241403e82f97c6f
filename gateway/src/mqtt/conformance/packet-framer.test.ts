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
