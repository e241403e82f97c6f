import type { ChannelHub } from '../channels/channel-hub.js'
import type { ChannelEnvelope } from '../domain/envelope.js'
import type { Adapter } from './adapter.js'
import { LocalCache, LocalOccupancy, LocalPresence, LocalUsers } from './local-registries.js'

/** Single node: publishing is local delivery and the registries live in memory. */
export class LocalAdapter implements Adapter {
  readonly presence = new LocalPresence()
  readonly occupancy = new LocalOccupancy()
  readonly users = new LocalUsers()
  readonly cache = new LocalCache()
  readonly #hub: ChannelHub

  constructor(hub: ChannelHub) {
    this.#hub = hub
  }

  publish(envelope: ChannelEnvelope): void {
    this.#hub.deliver(envelope)
  }

  hasSubscribers(appId: string, channel: string): boolean {
    return this.#hub.subscriberCount(appId, channel) > 0
  }

  async close(): Promise<void> {}
}
