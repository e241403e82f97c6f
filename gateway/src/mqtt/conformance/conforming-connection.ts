import type { Duplex } from 'node:stream'
import type { KnownSessions } from './known-sessions.js'
import { PacketFramer } from './packet-framer.js'
import { checkInboundPacket, type PacketVerdict } from './packet-rules.js'
import { expandSubackCodes, type SubscriptionRequest } from './repeated-filters.js'

export interface ConformingConnectionDeps {
  sessions: KnownSessions
  /** A protocol violation closed the connection [MQTT-4.8.0-1]. */
  onViolation(reason: string, clientId: string | undefined): void
  /** The CONNECT was answered with this CONNACK return code, then the connection was closed. */
  onRefused(returnCode: number, reason: string): void
  /** Larger inbound packets close the connection on their header (mqtt.maxPacketBytes). */
  maxPacketBytes: number
}

const CONNECT = 1
const CONNACK = 2
const PUBLISH = 3
const SUBSCRIBE = 8
const SUBACK = 9
const UNSUBSCRIBE = 10

/**
 * Inbound packets `checkInboundPacket` reads: held until complete (aedes cannot parse them any
 * earlier either). One with fixed-header flags mqtt-packet refuses passes at once, so aedes closes
 * the connection on its first byte as it always did [MQTT-2.2.2-2] [MQTT-3.3.1-4].
 */
function inspected(firstByte: number): boolean {
  const flags = firstByte & 0x0f
  switch (firstByte >> 4) {
    case CONNECT:
      return flags === 0
    case PUBLISH:
      return ((flags >> 1) & 0x03) !== 3
    case SUBSCRIBE:
    case UNSUBSCRIBE:
      return flags === 0x02
    default:
      return false
  }
}

function encodeSuback(packetId: number, codes: readonly number[]): Buffer {
  const lengthBytes: number[] = []
  let rest = 2 + codes.length
  do {
    lengthBytes.push((rest % 128) | (rest >= 128 ? 0x80 : 0))
    rest = Math.floor(rest / 128)
  } while (rest > 0)
  return Buffer.from([SUBACK << 4, ...lengthBytes, packetId >> 8, packetId & 0xff, ...codes])
}

type WriteCallback = (error?: Error | null) => void
type ConnectionWrite = (chunk: Buffer, callback?: WriteCallback) => boolean

/**
 * Makes `connection` close the MQTT 3.1.1 gaps of aedes 1.2 on the wire, in place: its `push`
 * (where the socket hands aedes what it read) and its `write` (where aedes writes packets) are
 * wrapped on the instance, so no second stream sits between the socket and aedes (a Duplex layer
 * cost about a tenth of the CPU per device publish and 1-2 KB per idle connection).
 * Inbound, CONNECT, PUBLISH, SUBSCRIBE and UNSUBSCRIBE pass `checkInboundPacket` before aedes
 * reads them (a violation closes the connection; an unsupported protocol level or an empty client
 * id with CleanSession 0 gets its CONNACK from here). Outbound, bytes pass unchanged except the
 * CONNACK, whose Session Present flag is set for a resumed session [MQTT-3.2.2-2], and the SUBACK
 * of a SUBSCRIBE that repeated a filter, which gets a code per pair [MQTT-3.8.4-5]. Bytes given to
 * `end(chunk)` bypass `write` in Node; aedes never ends with data.
 */
export function conformConnection(
  connection: Duplex,
  deps: ConformingConnectionDeps,
  remoteAddress?: string,
): void {
  new ConnectionConformance(connection, deps)
  // The login log and the throttle read the peer's address off the connection; a WebSocket
  // stream does not know it (the upgrade request does).
  if (remoteAddress !== undefined && !('remoteAddress' in connection)) {
    Object.defineProperty(connection, 'remoteAddress', { value: remoteAddress })
  }
}

class ConnectionConformance {
  readonly #connection: Duplex
  readonly #deps: ConformingConnectionDeps
  /** The stream's own push and write (prototype methods, called on the connection). */
  readonly #push: Duplex['push']
  readonly #write: ConnectionWrite
  readonly #inbound: PacketFramer
  readonly #outbound: PacketFramer
  #closing = false
  #connect: { clientId: string; clean: boolean } | undefined
  /** SUBSCRIBEs that repeated a filter, by packet id; created by the first (most never do). */
  #repeatedFilters: Map<number, SubscriptionRequest[]> | undefined
  #firstOutbound = true

  constructor(connection: Duplex, deps: ConformingConnectionDeps) {
    this.#connection = connection
    this.#deps = deps
    this.#inbound = new PacketFramer(
      inspected,
      (packet) => (this.#apply(checkInboundPacket(packet)) ? packet : undefined),
      deps.maxPacketBytes,
    )
    this.#outbound = new PacketFramer(
      (firstByte) => this.#patches(firstByte >> 4),
      (packet, headerLength) => this.#patch(packet, headerLength),
    )
    this.#push = connection.push
    this.#write = connection.write as ConnectionWrite
    connection.push = (chunk: unknown, encoding?: BufferEncoding) => this.#receive(chunk, encoding)
    connection.write = ((
      chunk: unknown,
      encoding?: BufferEncoding | WriteCallback,
      callback?: WriteCallback,
    ) =>
      this.#send(
        chunk,
        typeof encoding === 'string' ? encoding : undefined,
        typeof encoding === 'function' ? encoding : callback,
      )) as Duplex['write']
  }

  // ---- inbound ----

  #receive(chunk: unknown, encoding: BufferEncoding | undefined): boolean {
    if (chunk === null) return this.#push.call(this.#connection, null)
    if (this.#closing) return false
    const parts = this.#inbound.feed(asBuffer(chunk, encoding))
    if (parts === undefined) {
      if (!this.#closing) this.#violation(this.#inbound.problem ?? 'malformed packet')
      return false
    }
    if (parts.length === 0) return true
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)
    return this.#push.call(this.#connection, bytes)
  }

  /** Acts on a verdict; false when the connection is being closed. */
  #apply(verdict: PacketVerdict): boolean {
    switch (verdict.kind) {
      case 'pass':
        return true
      case 'connect':
        this.#connect = { clientId: verdict.clientId, clean: verdict.clean }
        return true
      case 'subscribe':
        this.#repeatedFilters ??= new Map()
        this.#repeatedFilters.set(verdict.packetId, verdict.requests)
        return true
      case 'refuse': {
        this.#closing = true
        this.#deps.onRefused(verdict.returnCode, verdict.reason)
        // aedes never sees this CONNECT, so this CONNACK is the only packet it gets [MQTT-3.2.2-5].
        const connection = this.#connection
        this.#write.call(connection, Buffer.from([CONNACK << 4, 2, 0, verdict.returnCode]))
        connection.end(() => connection.destroy())
        return false
      }
      case 'close':
        this.#violation(verdict.reason)
        return false
    }
  }

  #violation(reason: string): void {
    this.#closing = true
    this.#deps.onViolation(reason, this.#connect?.clientId)
    this.#connection.destroy()
  }

  // ---- outbound ----

  #send(chunk: unknown, encoding: BufferEncoding | undefined, callback?: WriteCallback): boolean {
    const parts = this.#outbound.feed(asBuffer(chunk, encoding)) ?? []
    if (parts.length === 0) {
      // Held until the packet is complete (a CONNACK or SUBACK written in pieces).
      if (callback) process.nextTick(callback)
      return !this.#connection.writableNeedDrain
    }
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)
    return this.#write.call(this.#connection, bytes, callback)
  }

  #patches(type: number): boolean {
    const first = this.#firstOutbound
    this.#firstOutbound = false
    return (
      (type === CONNACK && first) ||
      (type === SUBACK && this.#repeatedFilters !== undefined && this.#repeatedFilters.size > 0)
    )
  }

  #patch(packet: Buffer, headerLength: number): Buffer {
    const type = (packet[0] ?? 0) >> 4
    if (type === CONNACK && packet.length === 4) {
      const connect = this.#connect
      if (packet[3] === 0 && connect && !connect.clean) {
        const resumed = this.#deps.sessions.has(connect.clientId)
        this.#deps.sessions.remember(connect.clientId)
        // A copy: the framer passes a packet that arrived whole as a view of the writer's buffer.
        if (resumed)
          return Buffer.from([packet[0] ?? 0, packet[1] ?? 0, (packet[2] ?? 0) | 0x01, 0])
      }
      return packet
    }
    if (type === SUBACK && packet.length >= headerLength + 2) {
      const packetId = packet.readUInt16BE(headerLength)
      const requests = this.#repeatedFilters?.get(packetId)
      if (requests === undefined) return packet
      this.#repeatedFilters?.delete(packetId)
      const codes = expandSubackCodes(requests, [...packet.subarray(headerLength + 2)])
      return codes ? encodeSuback(packetId, codes) : packet
    }
    return packet
  }
}

/** What a stream is given: bytes, or a string in an encoding (never used by aedes or ws). */
function asBuffer(chunk: unknown, encoding: BufferEncoding | undefined): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding)
  return Buffer.from(chunk as Uint8Array)
}
