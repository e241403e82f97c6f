import { isValidFilter, isValidTopicName } from '../../domain/topic-filter.js'
import { ConnackCode } from '../../errors/mqtt-codes.js'
import { isWellFormedMqttString } from './mqtt-string.js'
import { hasRepeatedFilter, type SubscriptionRequest } from './repeated-filters.js'

/** What to do with one complete inbound packet. */
export type PacketVerdict =
  /** Hand it to aedes unchanged (it is fine, or aedes/mqtt-packet already handle what is wrong). */
  | { kind: 'pass' }
  /** A CONNECT to hand on; its client id and CleanSession shape the CONNACK. */
  | { kind: 'connect'; clientId: string; clean: boolean }
  /** A SUBSCRIBE naming a filter more than once; its SUBACK needs a code per pair. */
  | { kind: 'subscribe'; packetId: number; requests: SubscriptionRequest[] }
  /** Answer CONNACK with this return code, then close. */
  | {
      kind: 'refuse'
      returnCode:
        | typeof ConnackCode.UnacceptableProtocolVersion
        | typeof ConnackCode.IdentifierRejected
      reason: string
    }
  /** A protocol violation: close the connection without answering [MQTT-4.8.0-1]. */
  | { kind: 'close'; reason: string }

const PASS: PacketVerdict = { kind: 'pass' }
const close = (reason: string): PacketVerdict => ({ kind: 'close', reason })

const CONNECT = 1
const PUBLISH = 3
const SUBSCRIBE = 8
const UNSUBSCRIBE = 10

/** Reads the fields of a packet body; undefined past its end (mqtt-packet then closes it). */
class BodyReader {
  readonly #bytes: Buffer
  #offset: number

  constructor(bytes: Buffer, offset: number) {
    this.#bytes = bytes
    this.#offset = offset
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset
  }

  byte(): number | undefined {
    if (this.remaining < 1) return undefined
    this.#offset += 1
    return this.#bytes[this.#offset - 1]
  }

  uint16(): number | undefined {
    if (this.remaining < 2) return undefined
    this.#offset += 2
    return this.#bytes.readUInt16BE(this.#offset - 2)
  }

  /** A 2-byte length and that many bytes: an MQTT string or binary field. */
  field(): Buffer | undefined {
    const length = this.uint16()
    if (length === undefined || this.remaining < length) return undefined
    this.#offset += length
    return this.#bytes.subarray(this.#offset - length, this.#offset)
  }
}

/** Offset of the variable header: after the type byte and the 1-4 byte remaining length. */
function bodyOffset(packet: Buffer): number {
  let offset = 1
  while (offset < packet.length && (packet[offset] ?? 0) & 0x80) offset += 1
  return offset + 1
}

const ILL_FORMED = 'is not well-formed UTF-8 or contains U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]'

/**
 * The MQTT 3.1.1 rules aedes 1.2 and mqtt-packet 9 do not enforce on what a client sends,
 * checked on one complete packet (fixed header included) before aedes parses it.
 */
export function checkInboundPacket(packet: Buffer): PacketVerdict {
  const first = packet[0] ?? 0
  switch (first >> 4) {
    case CONNECT:
      return checkConnect(new BodyReader(packet, bodyOffset(packet)))
    case PUBLISH:
      return checkPublish(first, packet, bodyOffset(packet))
    case SUBSCRIBE:
      return checkSubscribe(new BodyReader(packet, bodyOffset(packet)))
    case UNSUBSCRIBE:
      return checkUnsubscribe(new BodyReader(packet, bodyOffset(packet)))
    default:
      return PASS
  }
}

function checkConnect(body: BodyReader): PacketVerdict {
  const name = body.field()?.toString('latin1')
  const level = body.byte()
  const flags = body.byte()
  if (body.uint16() === undefined || flags === undefined || level === undefined) return PASS
  if (name !== 'MQTT' && name !== 'MQIsdp') return PASS // mqtt-packet closes it
  const version = level & 0x7f // bit 7 is mosquitto's bridge flag, which mqtt-packet accepts
  if (version !== 3 && version !== 4 && version !== 5) {
    const reason = `protocol level ${level} [MQTT-3.1.2-2]`
    return { kind: 'refuse', returnCode: ConnackCode.UnacceptableProtocolVersion, reason }
  }
  // MQTT 5 has properties here; aedes answers it with CONNACK 1 and the gateway logs why.
  if (version === 5 || flags & 0x01) return PASS // mqtt-packet closes on the reserved flag
  const clean = (flags & 0x02) !== 0
  const will = (flags & 0x04) !== 0
  const hasPassword = (flags & 0x40) !== 0
  const hasUsername = (flags & 0x80) !== 0
  if (will && ((flags >> 3) & 0x03) === 3) return close('Will QoS 3 [MQTT-3.1.2-14]')
  if (hasPassword && !hasUsername)
    return close('password flag without user name flag [MQTT-3.1.2-22]')
  const clientId = body.field()
  if (clientId === undefined) return PASS
  if (!isWellFormedMqttString(clientId)) return close(`client id ${ILL_FORMED} [MQTT-3.1.3-4]`)
  if (will) {
    const topic = body.field()
    if (topic === undefined || body.field() === undefined) return PASS
    if (!isWellFormedMqttString(topic)) return close(`Will Topic ${ILL_FORMED} [MQTT-3.1.3-10]`)
    if (!isValidTopicName(topic.toString('utf8'))) {
      return close('Will Topic is empty or has a wildcard [MQTT-4.7.1-1] [MQTT-4.7.3-1]')
    }
  }
  if (hasUsername) {
    const username = body.field()
    if (username === undefined) return PASS
    if (!isWellFormedMqttString(username)) return close(`user name ${ILL_FORMED} [MQTT-3.1.3-11]`)
  }
  if (clientId.length === 0 && !clean) {
    const reason = 'empty client id with CleanSession 0 [MQTT-3.1.3-8]'
    return { kind: 'refuse', returnCode: ConnackCode.IdentifierRejected, reason }
  }
  return { kind: 'connect', clientId: clientId.toString('utf8'), clean }
}

/** Read in place, without a reader or views: every device message passes here. */
function checkPublish(first: number, packet: Buffer, offset: number): PacketVerdict {
  const qos = (first >> 1) & 0x03
  if (qos === 3) return PASS // mqtt-packet closes it [MQTT-3.3.1-4]
  if (qos === 0 && first & 0x08) return close('DUP 1 on a QoS 0 PUBLISH [MQTT-3.3.1-2]')
  if (packet.length < offset + 2) return PASS
  const topicEnd = offset + 2 + packet.readUInt16BE(offset)
  if (topicEnd > packet.length) return PASS
  if (!isWellFormedMqttString(packet, offset + 2, topicEnd)) {
    return close(`topic name ${ILL_FORMED} [MQTT-3.3.2-1]`)
  }
  // Empty topics and wildcards aedes closes on itself [MQTT-4.7.3-1] [MQTT-3.3.2-2].
  if (qos > 0 && topicEnd + 2 <= packet.length && packet.readUInt16BE(topicEnd) === 0) {
    return close('packet identifier 0 [MQTT-2.3.1-1]')
  }
  return PASS
}

/** Why a topic filter is malformed, or undefined when it is not. */
function filterProblem(filter: Buffer): string | undefined {
  if (!isWellFormedMqttString(filter)) return `topic filter ${ILL_FORMED} [MQTT-3.8.3-1]`
  if (!isValidFilter(filter.toString('utf8'))) {
    return 'malformed topic filter [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]'
  }
  return undefined
}

function checkSubscribe(body: BodyReader): PacketVerdict {
  const packetId = body.uint16()
  if (packetId === undefined) return PASS
  if (packetId === 0) return close('packet identifier 0 [MQTT-2.3.1-1]')
  if (body.remaining === 0) return close('SUBSCRIBE without topic filters [MQTT-3.8.3-3]')
  const requests: SubscriptionRequest[] = []
  while (body.remaining > 0) {
    const filter = body.field()
    const options = body.byte()
    if (filter === undefined || options === undefined) return PASS
    const problem = filterProblem(filter)
    if (problem) return close(problem)
    // Reserved bits and QoS 3 mqtt-packet closes on [MQTT-3.8.3-4].
    requests.push({ filter: filter.toString('utf8'), qos: options & 0x03 })
  }
  return hasRepeatedFilter(requests) ? { kind: 'subscribe', packetId, requests } : PASS
}

function checkUnsubscribe(body: BodyReader): PacketVerdict {
  const packetId = body.uint16()
  if (packetId === undefined) return PASS
  if (packetId === 0) return close('packet identifier 0 [MQTT-2.3.1-1]')
  if (body.remaining === 0) return close('UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]')
  while (body.remaining > 0) {
    const filter = body.field()
    if (filter === undefined) return PASS
    const problem = filterProblem(filter)
    if (problem) return close(problem.replace('[MQTT-3.8.3-1]', '[MQTT-3.10.3-1]'))
  }
  return PASS
}
