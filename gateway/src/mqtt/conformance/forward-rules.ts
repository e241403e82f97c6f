import type { AedesPublishPacket, Client } from 'aedes'
import { filterMatches } from '../../domain/topic-filter.js'

/** aedes keeps a client's granted subscriptions here, restored ones included (not in its typings). */
type WithSubscriptions = { subscriptions?: Record<string, { qos: number } | undefined> }

/** The highest QoS granted to `client` by a subscription matching `topic`; undefined if none. */
export function grantedQos(client: object, topic: string): number | undefined {
  let granted: number | undefined
  const subscriptions = (client as WithSubscriptions).subscriptions ?? {}
  for (const [filter, subscription] of Object.entries(subscriptions)) {
    if (subscription && filterMatches(filter, topic)) {
      granted = Math.max(granted ?? 0, subscription.qos)
    }
  }
  return granted
}

/**
 * aedes' authorizeForward hook, called for every PUBLISH about to go to a subscriber (live, and
 * retained on a new subscription) with a copy of the packet; what it returns is sent.
 * - The DUP flag of the incoming PUBLISH is not propagated [MQTT-3.3.1-3] (a re-delivery gets it
 *   from the persistence layer instead).
 * - The QoS is at most the one granted to the matching subscriptions [MQTT-3.8.4-6]: aedes
 *   downgrades only by a subscription whose filter equals the topic, so a wildcard subscription
 *   granted QoS 1 got QoS 2 messages.
 */
export function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket {
  let forwarded = packet
  if (packet.dup) forwarded = { ...forwarded, dup: false }
  if (packet.qos > 0) {
    const granted = grantedQos(client, packet.topic)
    if (granted !== undefined && granted < packet.qos) {
      forwarded = { ...forwarded, qos: granted as AedesPublishPacket['qos'] }
    }
  }
  return forwarded
}
