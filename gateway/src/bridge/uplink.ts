import type { AedesPublishPacket } from 'aedes'
import type { Channels } from '../channels/channels.js'
import type { Meter } from '../domain/meter.js'
import type { Logger } from '../log.js'
import type { DeviceSession } from '../mqtt/device-sessions.js'
import { mapDefaultUplink } from './default-uplink.js'

/** Device publishes to channel events: mapped once at ingress, then published once. */
export function createUplink(channels: Channels, meter: Meter, log: Logger) {
  return (session: DeviceSession, packet: AedesPublishPacket): void => {
    meter.messageIn('mqtt')
    const mapped = mapDefaultUplink(session.deviceId, packet.topic, packet.payload as Buffer)
    if (!mapped) return
    channels.trigger({ appId: session.appId, ...mapped }).then(
      (published) => {
        if (!published) meter.dropped('quota')
      },
      (error: unknown) => log.error({ err: error, topic: packet.topic }, 'uplink delivery failed'),
    )
  }
}
