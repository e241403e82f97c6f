import { Duplex, PassThrough } from 'node:stream'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { conformConnection } from './conforming-connection.js'
import { KnownSessions } from './known-sessions.js'

/** An in-memory socket made conforming: `client` bytes in, `wire` bytes out. */
function harness(sessions = new KnownSessions(), maxPacketBytes = 4096) {
  const fromClient = new PassThrough()
  const toClient = new PassThrough()
  const wire: Buffer[] = []
  toClient.on('data', (chunk: Buffer) => wire.push(chunk))
  const violations: string[] = []
  const refusals: number[] = []
  const connection = Duplex.from({ readable: fromClient, writable: toClient })
  conformConnection(connection, {
    sessions,
    maxPacketBytes,
    onViolation: (reason) => violations.push(reason),
    onRefused: (code) => refusals.push(code),
  })
  const received: Buffer[] = []
  connection.on('data', (chunk: Buffer) => received.push(chunk))
  connection.on('error', () => {})
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  return {
    connection,
    violations,
    refusals,
    /** Sends bytes as the client, one byte per chunk, so every header straddles chunks. */
    async sendBytewise(bytes: Buffer) {
      for (const byte of bytes) fromClient.write(Buffer.from([byte]))
      await settle()
    },
    received: () => Buffer.concat(received),
    /** Writes as aedes does: mqtt-packet's writeToStream, several write() calls per packet. */
    async serverWrites(...packets: Packet[]) {
      for (const packet of packets) mqttPacket.writeToStream(packet, connection)
      await settle()
    },
    wire: () => Buffer.concat(wire),
  }
}

const connect = (fields: Partial<mqttPacket.IConnectPacket> = {}): Packet => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 0,
  clientId: 'c1',
  ...fields,
})

describe('conformConnection', () => {
  it('passes conforming packets through byte for byte, whatever the chunking', async () => {
    const h = harness()
    const bytes = Buffer.concat(
      [
        connect(),
        { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 1 }] },
        { cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 7), qos: 1, messageId: 2 },
        { cmd: 'pingreq' },
      ].map((packet) => mqttPacket.generate(packet as Packet)),
    )
    await h.sendBytewise(bytes)
    expect(h.received().equals(bytes)).toBe(true)
    expect(h.violations).toEqual([])
  })

  it('closes on a violation found across chunk boundaries and passes nothing of it', async () => {
    const h = harness()
    const good = mqttPacket.generate(connect())
    await h.sendBytewise(good)
    const bad = Buffer.from([0x30, 0x05, 0x00, 0x03, 0x61, 0x00, 0x62]) // topic "a\0b"
    await h.sendBytewise(bad)
    expect(h.received().equals(good)).toBe(true)
    expect(h.violations[0]).toContain('[MQTT-1.5.3-2]')
    expect(h.connection.destroyed).toBe(true)
  })

  it('closes on the header of a packet over maxPacketBytes, before its body arrives', async () => {
    const h = harness(new KnownSessions(), 128)
    const good = mqttPacket.generate(connect())
    await h.sendBytewise(good)
    await h.sendBytewise(Buffer.from([0x30, 0xc8, 0x01])) // remaining length 200
    expect(h.violations).toEqual(['packet of 203 bytes exceeds mqtt.maxPacketBytes'])
    expect(h.received().equals(good)).toBe(true)
    expect(h.connection.destroyed).toBe(true)
  })

  it('closes on a remaining length longer than four bytes, held packet or not', async () => {
    for (const first of [0x30, 0xc0]) {
      const h = harness(new KnownSessions(), 1 << 30)
      await h.sendBytewise(mqttPacket.generate(connect()))
      await h.sendBytewise(Buffer.from([first, 0xff, 0xff, 0xff, 0xff, 0x01]))
      expect(h.violations).toEqual(['malformed remaining length [MQTT-2.2.3]'])
      expect(h.connection.destroyed).toBe(true)
    }
  })

  it("sets Session Present on a CONNACK written whole without touching the writer's buffer", async () => {
    const sessions = new KnownSessions()
    sessions.remember('c1')
    const h = harness(sessions)
    await h.sendBytewise(mqttPacket.generate(connect({ clean: false })))
    const written = Buffer.from([0x20, 0x02, 0x00, 0x00])
    h.connection.write(written)
    await new Promise((resolve) => setImmediate(resolve))
    expect([...h.wire()]).toEqual([0x20, 0x02, 0x01, 0x00])
    expect([...written]).toEqual([0x20, 0x02, 0x00, 0x00])
  })

  it('sets Session Present on the CONNACK of a known session, written in pieces', async () => {
    const sessions = new KnownSessions()
    sessions.remember('c1')
    const h = harness(sessions)
    await h.sendBytewise(mqttPacket.generate(connect({ clean: false })))
    await h.serverWrites({ cmd: 'connack', returnCode: 0, sessionPresent: false })
    expect([...h.wire()]).toEqual([0x20, 0x02, 0x01, 0x00])
  })

  it('remembers a new session and leaves its first CONNACK alone', async () => {
    const sessions = new KnownSessions()
    const h = harness(sessions)
    await h.sendBytewise(mqttPacket.generate(connect({ clean: false })))
    await h.serverWrites(
      { cmd: 'connack', returnCode: 0, sessionPresent: false },
      { cmd: 'pingresp' },
    )
    expect([...h.wire()]).toEqual([0x20, 0x02, 0x00, 0x00, 0xd0, 0x00])
    expect(sessions.has('c1')).toBe(true)
  })

  it('answers an unsupported protocol level with CONNACK 1 itself', async () => {
    const h = harness()
    const level6 = mqttPacket.generate(connect())
    level6[8] = 6 // protocol level byte: header(2) + "MQTT"(6)
    await h.sendBytewise(level6)
    expect([...h.wire()]).toEqual([0x20, 0x02, 0x00, 0x01])
    expect(h.refusals).toEqual([1])
    expect(h.received().length).toBe(0)
  })

  it('expands the SUBACK of a SUBSCRIBE that repeats a filter to a code per pair', async () => {
    const h = harness()
    await h.sendBytewise(mqttPacket.generate(connect()))
    const subscriptions: mqttPacket.ISubscription[] = [
      { topic: 'x', qos: 2 },
      { topic: 'y', qos: 0 },
      { topic: 'x', qos: 1 },
    ]
    await h.sendBytewise(mqttPacket.generate({ cmd: 'subscribe', messageId: 300, subscriptions }))
    // aedes answers the deduplicated list: x (its last request, QoS 1), y.
    await h.serverWrites(
      { cmd: 'connack', returnCode: 0, sessionPresent: false },
      { cmd: 'suback', messageId: 300, granted: [1, 0] },
    )
    const parser = mqttPacket.parser()
    const packets: Packet[] = []
    parser.on('packet', (packet: Packet) => packets.push(packet))
    parser.parse(h.wire())
    expect(packets[1]).toMatchObject({ cmd: 'suback', messageId: 300, granted: [2, 0, 1] })
  })
})
