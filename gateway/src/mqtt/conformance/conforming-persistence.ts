import { Readable } from 'node:stream'
import { filterMatches } from '../../domain/topic-filter.js'
import { grantedQos } from './forward-rules.js'
import type { KnownSessions } from './known-sessions.js'

/** The part of the aedes persistence interface this layer changes. */
export interface SessionPersistence {
  cleanSubscriptions(client: { id: string }): Promise<unknown>
  outgoingStream(client: { id: string }): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
  createRetainedStream?(pattern: string): Readable
}

type StoredPacket = {
  cmd?: string
  topic?: string
  qos?: number
  messageId?: number
  dup?: boolean
}

/**
 * A stored outgoing packet as it goes out when a session resumes (aedes passes the client, its
 * subscriptions restored by then). A PUBLISH that already has a packet identifier was sent before
 * and is re-delivered with DUP 1 [MQTT-3.3.1-1]; one without was queued while the client was away
 * and goes out for the first time with DUP 0, whatever DUP the publisher's packet had
 * [MQTT-3.3.1-3]. aedes re-sends both with DUP 0. Its QoS is the lower of the published one and
 * the one granted [MQTT-3.8.4-6]: aedes queues messages at the published QoS. It stays at least 1,
 * or the packet would never be acknowledged and leave the queue.
 */
function asRedelivered(client: object, packet: StoredPacket): StoredPacket {
  if (packet.cmd !== 'publish') return packet
  const redelivered = { ...packet, dup: Boolean(packet.messageId) }
  const granted = packet.topic === undefined ? undefined : grantedQos(client, packet.topic)
  if (granted !== undefined && packet.qos !== undefined && granted < packet.qos) {
    redelivered.qos = Math.max(1, granted)
  }
  return redelivered
}

/**
 * The retained messages matching each of `patterns` in turn, fetched with a filter the persistence
 * matches correctly and then matched here. aedes' default persistence matches retained messages with
 * qlobber, whose `+` never matches an empty level (`sport/+` misses `sport/`) [MQTT-4.7.1-3]; its
 * `#` is right. So a filter with wildcards is fetched as `{literal prefix}/#` (or `#`), and
 * `filterMatches` (which also keeps `$` topics from first-level wildcards [MQTT-4.7.2-1]) decides.
 */
async function* retainedMatching(
  persistence: SessionPersistence,
  patterns: readonly string[],
): AsyncGenerator<StoredPacket> {
  for (const pattern of patterns) {
    const levels = pattern.split('/')
    const wildcard = levels.findIndex((level) => level === '+' || level === '#')
    if (wildcard < 0) {
      yield* persistence.createRetainedStreamCombi([pattern])
      continue
    }
    const scan = wildcard === 0 ? '#' : `${levels.slice(0, wildcard).join('/')}/#`
    const candidates = persistence.createRetainedStreamCombi([scan]) as AsyncIterable<StoredPacket>
    for await (const packet of candidates) {
      if (packet.topic !== undefined && filterMatches(pattern, packet.topic)) yield packet
    }
  }
}

/**
 * The aedes persistence with the session-level MQTT 3.1.1 gaps closed; every other method is the
 * wrapped one, called on the wrapped object.
 */
export function conformingPersistence<P extends SessionPersistence>(
  persistence: P,
  sessions: KnownSessions,
): P {
  const overrides: Partial<SessionPersistence> = {
    cleanSubscriptions(client) {
      sessions.forget(client.id)
      return persistence.cleanSubscriptions(client)
    },
    outgoingStream(client) {
      const stored = persistence.outgoingStream(client) as AsyncIterable<StoredPacket>
      return Readable.from(
        (async function* () {
          for await (const packet of stored) yield asRedelivered(client, packet)
        })(),
      )
    },
    createRetainedStreamCombi(patterns) {
      return Readable.from(retainedMatching(persistence, patterns))
    },
    createRetainedStream(pattern) {
      return Readable.from(retainedMatching(persistence, [pattern]))
    },
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(persistence, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof SessionPersistence]
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      // Methods run on the wrapped object, whose private fields a proxy receiver would not have.
      if (!bound.has(property)) bound.set(property, value.bind(target))
      return bound.get(property)
    },
  })
}
