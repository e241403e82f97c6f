import type { Client, PublishPacket, Subscription } from 'aedes'
import type { Meter } from '../domain/meter.js'
import type { DeviceSessions } from './device-sessions.js'

/**
 * The default ACL (ARCHITECTURE.md): a device publishes only under `devices/{itsId}/` and
 * subscribes only inside `devices/{itsId}/commands/#`. `$SYS` is never writable by clients.
 */
export function createAuthorizers(sessions: DeviceSessions, meter: Meter) {
  function authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    // A null client is the gateway's own publish (downlink), authorised by the rule that made it.
    const session = client ? sessions.get(client) : undefined
    const allowed =
      client === null ||
      (session !== undefined &&
        !packet.topic.startsWith('$') &&
        packet.topic.startsWith(`devices/${session.deviceId}/`))
    // aedes closes an MQTT 3.1.1 connection on a refused publish: there is no reason code to send.
    if (!allowed) meter.rejected('mqtt_publish_acl')
    done(allowed ? null : new Error(`publish to ${packet.topic} not allowed`))
  }

  function authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const session = sessions.get(client)
    const allowed =
      session !== undefined && isWithin(subscription.topic, `devices/${session.deviceId}/commands`)
    // null refuses this filter with SUBACK 0x80 and keeps the connection ([MQTT-3.9.3-2]).
    if (!allowed) meter.rejected('mqtt_subscribe_acl')
    done(null, allowed ? subscription : null)
  }

  return { authorizePublish, authorizeSubscribe }
}

/** True when every topic the filter can match lies at or below `root`. */
function isWithin(filter: string, root: string): boolean {
  return filter === root || (filter.startsWith(`${root}/`) && filter.length > root.length + 1)
}
