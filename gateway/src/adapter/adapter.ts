import type { ChannelEnvelope } from '../domain/envelope.js'

/**
 * The only place that knows whether other nodes exist. `publish` reaches every node's local
 * subscribers, this node's included.
 */
export interface Adapter {
  publish(envelope: ChannelEnvelope): void
  close(): Promise<void>
}
