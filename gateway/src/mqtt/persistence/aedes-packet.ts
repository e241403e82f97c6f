import { createRequire } from 'node:module'
import type { PersistedPacket } from './types.js'

// aedes-packet is CommonJS and its typings declare `Packet` as a plain function, not a class.
const Packet = createRequire(import.meta.url)('aedes-packet') as new (
  original: PersistedPacket,
) => PersistedPacket

/**
 * The packet as aedes-persistence's memory persistence queues it: `new Packet(original)` keeps the
 * fields aedes delivers (cmd, topic, payload, qos, retain, dup, brokerId, brokerCounter,
 * properties, clientId, nl, messageExpiry) and resets `messageId` of a QoS 1/2 publish, which is
 * assigned per delivery. Using aedes' own class keeps us in step when aedes adds a field.
 */
export function asQueuedPacket(original: PersistedPacket): PersistedPacket {
  return new Packet(original)
}
