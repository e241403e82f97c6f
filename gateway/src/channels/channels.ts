import type { Adapter, PresenceMember } from '../adapter/adapter.js'
import { channelKind, isCache, isPresence } from '../domain/channel.js'
import type { ChannelEnvelope } from '../domain/envelope.js'
import type { Logger } from '../log.js'
import type { ChannelHub, Subscriber } from './channel-hub.js'

/** A socket as the channel layer sees it. */
export interface ChannelSocket extends Subscriber {
  readonly appId: string
  readonly isOpen: boolean
}

export interface ChannelsOptions {
  hub: ChannelHub
  adapter: Adapter
  log: Logger
  /** Milliseconds a departed presence socket still counts (pusher-protocol §12, 3 s). */
  presenceGraceMs: number
  cacheTtlMs: number
  maxPresenceMembers: number
  /** Whether the app wants pusher_internal:subscription_count broadcasts. */
  countsSubscriptions(appId: string): boolean
}

export type SubscribeResult =
  | { ok: true; roster?: PresenceMember[]; cached?: { event: string; data: unknown } | null }
  | { ok: false; reason: 'member-limit' | 'closed' }

const SUBSCRIPTION_COUNT = 'pusher_internal:subscription_count'
const MEMBER_ADDED = 'pusher_internal:member_added'
const MEMBER_REMOVED = 'pusher_internal:member_removed'

/**
 * Channel semantics shared by every edge: who is subscribed, presence membership with its grace
 * period, cache channels and subscription counts. Cluster state goes through the adapter.
 */
export class Channels {
  readonly #options: ChannelsOptions
  /** Presence sockets that left but still count until their grace period ends. */
  readonly #pendingLeaves = new Map<string, NodeJS.Timeout>()

  constructor(options: ChannelsOptions) {
    this.#options = options
  }

  /**
   * Joins a socket to a channel. For presence channels `member` is required; the result carries
   * the roster (including the joiner) or, for cache channels, the cached event (null on a miss).
   * `onJoined` runs once the socket receives the channel's events, before member_added and
   * subscription_count go out.
   */
  async subscribe(
    socket: ChannelSocket,
    channel: string,
    member: PresenceMember | undefined,
    onJoined: (result: SubscribeResult) => void,
  ): Promise<SubscribeResult> {
    const { hub, adapter } = this.#options
    const kind = channelKind(channel)
    const result: SubscribeResult = { ok: true }
    let firstForUser = false
    if (isPresence(kind) && member) {
      const resumed = this.#cancelPendingLeave(socket.appId, channel, socket.socketId)
      if (!resumed) {
        const members = await adapter.presence.members(socket.appId, channel)
        const known = members.some((m) => m.userId === member.userId)
        if (!known && members.length >= this.#options.maxPresenceMembers)
          return { ok: false, reason: 'member-limit' }
        firstForUser = (await adapter.presence.join(socket.appId, channel, socket.socketId, member))
          .firstForUser
      }
      result.roster = await adapter.presence.members(socket.appId, channel)
    }
    if (isCache(kind)) {
      const cached = await adapter.cache.get(socket.appId, channel)
      result.cached = cached ? { event: cached.event, data: cached.data } : null
    }
    const count = await adapter.occupancy.add(socket.appId, channel, socket.socketId)
    if (!socket.isOpen) {
      // The socket went away while the registries were answering: undo, as a close would.
      await this.unsubscribe(socket, channel)
      return { ok: false, reason: 'closed' }
    }
    hub.subscribe(socket.appId, channel, socket)
    // The joiner hears of its subscription before any broadcast the join itself causes.
    onJoined(result)
    if (firstForUser && member) {
      this.#publish({
        appId: socket.appId,
        channel,
        event: MEMBER_ADDED,
        data: JSON.stringify({ user_id: member.userId, user_info: member.userInfo }),
        exceptSocketId: socket.socketId,
      })
    }
    if (!isPresence(kind)) this.#announceCount(socket.appId, channel, count)
    return result
  }

  /** Leaves a channel; a presence member is only removed after the grace period. */
  async unsubscribe(socket: ChannelSocket, channel: string): Promise<void> {
    const { hub, adapter } = this.#options
    hub.unsubscribe(socket.appId, channel, socket)
    const count = await adapter.occupancy.remove(socket.appId, channel, socket.socketId)
    const kind = channelKind(channel)
    if (isPresence(kind)) this.#leavePresenceLater(socket.appId, channel, socket.socketId)
    else this.#announceCount(socket.appId, channel, count)
  }

  /** Publishes an event to a channel, storing it first when it is a cache channel (§6.3). */
  async trigger(envelope: ChannelEnvelope): Promise<void> {
    if (isCache(channelKind(envelope.channel))) {
      await this.#options.adapter.cache.set(envelope.appId, envelope.channel, {
        event: envelope.event,
        data: envelope.data,
        expiresAt: Date.now() + this.#options.cacheTtlMs,
      })
    }
    this.#publish(envelope)
  }

  /** Client events are never cached (§6.3) and never echoed to the sender (§6.4). */
  relayClientEvent(envelope: ChannelEnvelope): void {
    this.#publish(envelope)
  }

  /** Ends every pending grace period now; used on shutdown. */
  flushPendingLeaves(): void {
    for (const timer of this.#pendingLeaves.values()) clearTimeout(timer)
    this.#pendingLeaves.clear()
  }

  #publish(envelope: ChannelEnvelope): void {
    this.#options.adapter.publish(envelope)
  }

  #announceCount(appId: string, channel: string, count: number): void {
    if (!this.#options.countsSubscriptions(appId)) return
    this.#publish({
      appId,
      channel,
      event: SUBSCRIPTION_COUNT,
      data: JSON.stringify({ subscription_count: count }),
    })
  }

  #leavePresenceLater(appId: string, channel: string, socketId: string): void {
    const key = `${appId}\u0000${channel}\u0000${socketId}`
    const leave = () => {
      this.#pendingLeaves.delete(key)
      this.#leavePresence(appId, channel, socketId).catch((error: unknown) =>
        this.#options.log.error({ err: error, channel }, 'presence leave failed'),
      )
    }
    if (this.#options.presenceGraceMs <= 0) {
      leave()
      return
    }
    const timer = setTimeout(leave, this.#options.presenceGraceMs)
    timer.unref()
    this.#pendingLeaves.set(key, timer)
  }

  #cancelPendingLeave(appId: string, channel: string, socketId: string): boolean {
    const key = `${appId}\u0000${channel}\u0000${socketId}`
    const timer = this.#pendingLeaves.get(key)
    if (!timer) return false
    clearTimeout(timer)
    this.#pendingLeaves.delete(key)
    return true
  }

  async #leavePresence(appId: string, channel: string, socketId: string): Promise<void> {
    const { lastForUser, userId } = await this.#options.adapter.presence.leave(
      appId,
      channel,
      socketId,
    )
    if (!lastForUser || userId === undefined) return
    this.#publish({
      appId,
      channel,
      event: MEMBER_REMOVED,
      data: JSON.stringify({ user_id: userId }),
    })
  }
}
