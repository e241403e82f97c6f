import type { ChannelEnvelope } from '../domain/envelope.js'

/** What the hub needs of a socket: an id to exclude and a way to write a ready frame. */
export interface Subscriber {
  readonly socketId: string
  send(frame: Buffer | string): void
}

/** The one encoding of an envelope as a Pusher frame (pusher-protocol §2). */
export function encodeEnvelope(envelope: ChannelEnvelope): Buffer {
  return Buffer.from(
    JSON.stringify({
      event: envelope.event,
      ...(envelope.global ? {} : { channel: envelope.channel }),
      data: envelope.data,
      ...(envelope.userId === undefined ? {} : { user_id: envelope.userId }),
    }),
  )
}

/**
 * Local channel membership: app -> channel -> socket id -> subscriber. It knows nothing of
 * WebSockets or other nodes; the adapter feeds it envelopes.
 */
export class ChannelHub {
  readonly #apps = new Map<string, Map<string, Map<string, Subscriber>>>()
  readonly #onDelivered: (count: number) => void
  #subscriptions = 0

  /** `onDelivered` learns how many sockets each envelope reached (metrics). */
  constructor(onDelivered: (count: number) => void = () => {}) {
    this.#onDelivered = onDelivered
  }

  /** Subscriptions held by this node, over all apps and channels. */
  get subscriptionTotal(): number {
    return this.#subscriptions
  }

  /** Returns false when the subscriber was already in the channel. */
  subscribe(appId: string, channel: string, subscriber: Subscriber): boolean {
    let channels = this.#apps.get(appId)
    if (!channels) {
      channels = new Map()
      this.#apps.set(appId, channels)
    }
    let members = channels.get(channel)
    if (!members) {
      members = new Map()
      channels.set(channel, members)
    }
    if (members.has(subscriber.socketId)) return false
    members.set(subscriber.socketId, subscriber)
    this.#subscriptions += 1
    return true
  }

  /** Returns false when the subscriber was not in the channel. */
  unsubscribe(appId: string, channel: string, subscriber: Subscriber): boolean {
    const channels = this.#apps.get(appId)
    const members = channels?.get(channel)
    if (!channels || !members?.delete(subscriber.socketId)) return false
    this.#subscriptions -= 1
    if (members.size === 0) channels.delete(channel)
    if (channels.size === 0) this.#apps.delete(appId)
    return true
  }

  subscriberCount(appId: string, channel: string): number {
    return this.#apps.get(appId)?.get(channel)?.size ?? 0
  }

  /** The local subscribers of a channel (a copy, safe to iterate while closing sockets). */
  subscribers(appId: string, channel: string): Subscriber[] {
    return [...(this.#apps.get(appId)?.get(channel)?.values() ?? [])]
  }

  /**
   * Serialises the frame once, to bytes, and writes the same buffer to every local subscriber
   * but the excluded one.
   */
  deliver(envelope: ChannelEnvelope): number {
    const members = this.#apps.get(envelope.appId)?.get(envelope.channel)
    if (!members) return 0
    const frame = encodeEnvelope(envelope)
    let sent = 0
    for (const [socketId, subscriber] of members) {
      if (socketId === envelope.exceptSocketId) continue
      subscriber.send(frame)
      sent++
    }
    this.#onDelivered(sent)
    return sent
  }
}
