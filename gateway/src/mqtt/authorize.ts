import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes'
import { canPublish, canReceive, canSubscribe } from '../domain/device-acl.js'
import type { Meter } from '../domain/meter.js'
import { isValidFilter, levelCount } from '../domain/topic-filter.js'
import { claimMayPublish, isClaimSession } from './claim-session.js'
import type { DeviceSessions } from './device-sessions.js'

/**
 * The ACL compiled at CONNECT (ARCHITECTURE.md default: publish under `devices/{itsId}/`,
 * subscribe inside `devices/{itsId}/commands/#`), checked per packet without I/O.
 */
export function createAuthorizers(sessions: DeviceSessions, meter: Meter, maxTopicLevels: number) {
  const tooDeep = (topic: string) => levelCount(topic) > maxTopicLevels

  function authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    // A null client is the gateway's own publish (downlink), authorised by the rule that made it.
    if (client === null) {
      done(null)
      return
    }
    const session = sessions.get(client)
    const allowed =
      session !== undefined &&
      !tooDeep(packet.topic) &&
      (isClaimSession(session)
        ? claimMayPublish(client, session, packet)
        : canPublish(session.acl, packet.topic))
    if (!allowed) meter.rejected('mqtt_publish_acl')
    // aedes closes an MQTT 3.1.1 connection on a refused publish: there is no reason code to send.
    done(allowed ? null : new Error(`publish to ${packet.topic} not allowed`))
  }

  function authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const session = sessions.get(client)
    const allowed =
      session !== undefined &&
      isValidFilter(subscription.topic) &&
      !tooDeep(subscription.topic) &&
      canSubscribe(session.acl, subscription.topic)
    if (!allowed) meter.rejected('mqtt_subscribe_acl')
    // null refuses this filter with SUBACK 0x80 and keeps the connection ([MQTT-3.9.3-2]).
    done(null, allowed ? subscription : null)
  }

  /** Runs for every delivery, live or replayed from a stored session; must stay O(ACL size). */
  function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = sessions.get(client)
    if (!session || !canReceive(session.acl, packet.topic)) {
      meter.dropped('mqtt_forward_acl')
      return null
    }
    // aedes never waits for a full socket (unblocking-writes.ts), so what is written to a client
    // that stops reading stays in memory until mqtt.drainTimeout. A QoS 0 message may be lost (at
    // most once, MQTT 3.1.1 §4.3.1): drop it for that client only.
    if (packet.qos === 0 && (client.conn as { writableNeedDrain?: boolean }).writableNeedDrain) {
      meter.dropped('slow_consumer')
      return null
    }
    return packet
  }

  return { authorizePublish, authorizeSubscribe, authorizeForward }
}
