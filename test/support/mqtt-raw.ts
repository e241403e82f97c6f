import { connect } from 'node:net'
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet'
import { onTestFinished } from 'vitest'

/** What the server did next: sent a packet, or closed the connection. */
export type RawEvent = Packet | { cmd: 'closed' }

export interface RawMqtt {
  /** Sends a packet built by mqtt-packet, or raw bytes no client library would produce. */
  send(packet: Packet | Buffer): void
  /** The next packet from the server, or `{ cmd: 'closed' }` once the connection is gone. */
  next(): Promise<RawEvent>
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>
  /** Closes the connection from this side without a DISCONNECT (as a crash would). */
  drop(): void
}

/**
 * A raw TCP MQTT client: bytes out exactly as given, packets in parsed by mqtt-packet, for
 * conformance tests that need packets mqtt.js would never send. Closed when the test finishes.
 */
export async function openRawMqtt(port: number): Promise<RawMqtt> {
  const socket = connect(port, '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const events: RawEvent[] = []
  const waiters: Array<(event: RawEvent) => void> = []
  const push = (event: RawEvent) => {
    const waiter = waiters.shift()
    if (waiter) waiter(event)
    else events.push(event)
  }
  parser.on('packet', (packet: Packet) => push(packet))
  parser.on('error', () => socket.destroy())
  socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      push({ cmd: 'closed' })
      resolve()
    })
  })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return {
    send(packet) {
      socket.write(Buffer.isBuffer(packet) ? packet : mqttPacket.generate(packet))
    },
    next() {
      const event = events.shift()
      // After the close every further read reports it again.
      if (event?.cmd === 'closed') events.unshift(event)
      if (event !== undefined) return Promise.resolve(event)
      return new Promise((resolve) =>
        waiters.push((e) => {
          if (e.cmd === 'closed') events.push(e)
          resolve(e)
        }),
      )
    },
    closed,
    drop: () => socket.destroy(),
  }
}

/** A CONNECT packet for MQTT 3.1.1 with the given fields. */
export function connectPacket(fields: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
    clientId: 'raw-client',
    ...fields,
  }
}

/**
 * The bytes of a CONNECT. mqtt-packet refuses to encode an empty client id with CleanSession 0
 * (a client must not send it [MQTT-3.1.3-7]), so that one is encoded with CleanSession 1 and the
 * flag cleared afterwards.
 */
export function encodeConnect(packet: IConnectPacket): Buffer {
  if (packet.clientId !== '' || packet.clean !== false) return mqttPacket.generate(packet)
  const bytes = mqttPacket.generate({ ...packet, clean: true })
  let offset = 1
  while ((bytes[offset] ?? 0) & 0x80) offset += 1
  const flags = offset + 1 + 6 + 1 // remaining length, protocol name, protocol level
  bytes[flags] = (bytes[flags] ?? 0) & ~0x02
  return bytes
}

/** Opens a raw connection, sends CONNECT and returns it with the server's answer. */
export async function rawConnect(
  port: number,
  fields: Partial<IConnectPacket> = {},
): Promise<{ raw: RawMqtt; connack: IConnackPacket }> {
  const raw = await openRawMqtt(port)
  raw.send(encodeConnect(connectPacket(fields)))
  const answer = await raw.next()
  if (answer.cmd !== 'connack') throw new Error(`expected CONNACK, got ${answer.cmd}`)
  return { raw, connack: answer }
}

/** Encodes an MQTT string: 2-byte length, then the bytes as given (valid UTF-8 or not). */
export function mqttString(bytes: Buffer | string): Buffer {
  const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(body.length)
  return Buffer.concat([length, body])
}

/** A whole packet from its first header byte and its body (remaining length computed). */
export function rawPacket(firstByte: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body)
  const length: number[] = []
  let rest = payload.length
  do {
    let byte = rest % 128
    rest = Math.floor(rest / 128)
    if (rest > 0) byte |= 0x80
    length.push(byte)
  } while (rest > 0)
  return Buffer.concat([Buffer.from([firstByte, ...length]), payload])
}

/** A 2-byte packet identifier. */
export function packetId(id: number): Buffer {
  const buffer = Buffer.alloc(2)
  buffer.writeUInt16BE(id)
  return buffer
}
