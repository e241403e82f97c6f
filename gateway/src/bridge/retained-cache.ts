import type { Readable } from 'node:stream'
import type { Channels } from '../channels/channels.js'
import type { Logger } from '../log.js'
import type { Store } from '../store/open-store.js'
import type { UplinkRules } from './uplink-rules.js'

interface RetainedPacket {
  topic: string
  payload: Buffer | string
}

/**
 * At start-up, feeds every retained device message through the uplink rules and stores the
 * results for cache channels, so a dashboard opened after a restart sees the devices' last state
 * at once instead of a cache miss. The device is the one the topic's `devices/{id}/` names.
 */
export async function seedCacheFromRetained(
  retained: Readable,
  rules: UplinkRules,
  channels: Channels,
  store: Store,
  log: Logger,
): Promise<number> {
  let seeded = 0
  for await (const packet of retained as AsyncIterable<RetainedPacket>) {
    const deviceId = /^devices\/([^/]+)\//.exec(packet.topic)?.[1]
    const device = deviceId === undefined ? undefined : store.devices.find(deviceId)
    if (!device) continue
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    const session = { deviceId: device.id, name: device.name, tags: device.tags }
    for (const { channel, event, data } of rules.map(session, packet.topic, payload, Date.now())
      .events) {
      await channels.seedCache(device.appId, channel, event, data)
      seeded += 1
    }
  }
  if (seeded > 0) log.info({ seeded }, 'cache channels seeded from retained device messages')
  return seeded
}
