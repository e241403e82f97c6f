import type { AedesPublishPacket } from 'aedes'
import type { Channels } from '../channels/channels.js'
import type { Meter } from '../domain/meter.js'
import type { Logger } from '../log.js'
import type { DeviceSession } from '../mqtt/device-sessions.js'
import { LatestValueThrottle } from './latest-value-throttle.js'
import type { UplinkRules } from './uplink-rules.js'

export interface UplinkOptions {
  channels: Channels
  rules: UplinkRules
  meter: Meter
  log: Logger
  /** Pusher's event data limit (pusher.maxEventBytes, 10 KB). */
  maxEventBytes: number
}

/** Device publishes to channel events: mapped once at ingress by the rules, then published once. */
export function createUplink(options: UplinkOptions) {
  const { channels, meter, log } = options
  const throttle = new LatestValueThrottle()
  let rules = options.rules
  const counted = (published: boolean) => {
    if (!published) meter.dropped('quota')
  }
  const publish = (appId: string, channel: string, event: string, data: string) => {
    const published = channels.trigger({ appId, channel, event, data }, 'device')
    if (typeof published === 'boolean') counted(published)
    else
      published.then(counted, (error: unknown) =>
        log.error({ err: error, channel }, 'uplink delivery failed'),
      )
  }

  const onDevicePublish = (session: DeviceSession, packet: AedesPublishPacket): void => {
    meter.messageIn('mqtt')
    const { appId } = session
    const outcome = rules.map(
      session,
      packet.topic,
      packet.payload as Buffer,
      Date.now(),
      (channel) => channels.isHeard(appId, channel),
    )
    for (let i = 0; i < outcome.unheard; i++) counted(channels.countUnheard(appId))
    for (const { rule, reason } of outcome.dropped) {
      meter.dropped('bridge_unrenderable')
      log.warn(
        { deviceId: session.deviceId, topic: packet.topic, rule },
        `uplink dropped: ${reason}`,
      )
    }
    for (const { channel, event, data, throttleMs } of outcome.events) {
      if (Buffer.byteLength(data) > options.maxEventBytes) {
        meter.dropped('oversize')
        log.warn(
          { deviceId: session.deviceId, topic: packet.topic, bytes: Buffer.byteLength(data) },
          'uplink dropped: event data over the Pusher limit',
        )
        continue
      }
      if (throttleMs > 0)
        throttle.offer(`${session.appId}\u0000${channel}\u0000${event}`, throttleMs, () =>
          publish(session.appId, channel, event, data),
        )
      else publish(session.appId, channel, event, data)
    }
  }
  return {
    onDevicePublish,
    /** Swaps the rule set at once; publishes in flight finish with the old one. */
    setRules: (next: UplinkRules) => {
      rules = next
    },
    close: () => throttle.clear(),
  }
}
