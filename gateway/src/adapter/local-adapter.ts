import type { ChannelHub } from '../channels/channel-hub.js'
import type { ChannelEnvelope } from '../domain/envelope.js'
import type { Adapter } from './adapter.js'

/** Single node: publishing is local delivery. */
export class LocalAdapter implements Adapter {
  readonly #hub: ChannelHub

  constructor(hub: ChannelHub) {
    this.#hub = hub
  }

  publish(envelope: ChannelEnvelope): void {
    this.#hub.deliver(envelope)
  }

  async close(): Promise<void> {}
}
