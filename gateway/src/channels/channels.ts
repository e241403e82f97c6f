import type { Adapter, PresenceMember } from '../adapter/adapter.js'
import { channelKind, isCache, isPresence } from '../domain/channel.js'
import type { ChannelEnvelope } from '../domain/envelope.js'
import type { LifecycleEvent, LifecycleListener } from '../domain/lifecycle.js'
import type { Logger } from '../log.js'
import type { ChannelHub, Subscriber } from './channel-hub.js'
import { DeferredLeaves } from './deferred-leaves.js'
import { MessageQuota } from './message-quota.js'

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
  /** Told of occupancy, membership, cache misses and client events (webhooks, metrics). */
  onLifecycle?: LifecycleListener | undefined
  /** The app's daily message quota (`apps[].maxMessagesPerDay`); null for none. */
  messageLimit(appId: string): number | null
  /**
   * Sees every event from a backend (REST) or a browser (client event) after it is published:
   * the bridge turns matching ones into device commands. Device events never come here, so a
   * device cannot command itself in a loop.
   */
  onFromWeb?: ((envelope: ChannelEnvelope, origin: 'backend' | 'client') => void) | undefined
}

/** Who published an event: devices' events are not offered to the downlink. */
export type EventOrigin = 'backend' | 'device'

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
  readonly #departures: DeferredLeaves
  readonly #quota = new MessageQuota()

  constructor(options: ChannelsOptions) {
    this.#options = options
    this.#departures = new DeferredLeaves(options.presenceGraceMs, (error) =>
      options.log.error({ err: error }, 'presence leave failed'),
    )
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
    const { appId, socketId } = socket
    const kind = channelKind(channel)
    const result: SubscribeResult = { ok: true }
    let firstForUser = false
    if (isPresence(kind) && member) {
      if (!(await this.#departures.rejoin(appId, channel, socketId, member.userId))) {
        const members = await adapter.presence.members(appId, channel)
        const known = members.some((m) => m.userId === member.userId)
        if (!known && members.length >= this.#options.maxPresenceMembers) {
          return { ok: false, reason: 'member-limit' }
        }
        firstForUser = (await adapter.presence.join(appId, channel, socketId, member)).firstForUser
      }
      result.roster = await adapter.presence.members(appId, channel)
    }
    if (isCache(kind)) {
      const cached = await adapter.cache.get(appId, channel)
      result.cached = cached ? { event: cached.event, data: cached.data } : null
    }
    const count = await adapter.occupancy.add(appId, channel, socketId)
    if (!socket.isOpen) {
      // The socket went away while the registries were answering: undo, as a close would.
      await this.unsubscribe(socket, channel, member?.userId)
      return { ok: false, reason: 'closed' }
    }
    hub.subscribe(appId, channel, socket)
    // The joiner hears of its subscription before any broadcast the join itself causes.
    onJoined(result)
    if (count === 1) this.#emit({ name: 'channel_occupied', appId, channel })
    if (result.cached === null) this.#emit({ name: 'cache_miss', appId, channel })
    if (firstForUser && member) {
      this.#publish({
        appId,
        channel,
        event: MEMBER_ADDED,
        data: JSON.stringify({ user_id: member.userId, user_info: member.userInfo }),
        exceptSocketId: socketId,
      })
      this.#emit({ name: 'member_added', appId, channel, userId: member.userId })
    }
    if (!isPresence(kind)) this.#countChanged(appId, channel, count)
    return result
  }

  /**
   * Leaves a channel; a presence member (`presenceUserId`, the user the socket joined as) is only
   * removed after the grace period.
   */
  async unsubscribe(
    socket: ChannelSocket,
    channel: string,
    presenceUserId?: string,
  ): Promise<void> {
    const { hub, adapter } = this.#options
    const { appId, socketId } = socket
    hub.unsubscribe(appId, channel, socket)
    const count = await adapter.occupancy.remove(appId, channel, socketId)
    if (count === 0) this.#emit({ name: 'channel_vacated', appId, channel })
    if (!isPresence(channelKind(channel)) || presenceUserId === undefined) {
      this.#countChanged(appId, channel, count)
      return
    }
    this.#departures.schedule(appId, channel, socketId, presenceUserId, () =>
      this.removeMember(appId, channel, socketId).then(() => undefined),
    )
  }

  /** True while the app's daily quota still has room for `count` more messages. */
  withinQuota(appId: string, count: number): boolean {
    return this.#quota.allows(appId, this.#options.messageLimit(appId), count, Date.now())
  }

  /**
   * Publishes an event to a channel, storing it first when it is a cache channel (§6.3): a
   * promise then, a plain answer otherwise (device events come this way thousands of times a
   * second). False, publishing nothing, when the app's daily quota is spent.
   */
  trigger(envelope: ChannelEnvelope, origin: EventOrigin = 'backend'): boolean | Promise<boolean> {
    if (!this.#consumeQuota(envelope.appId)) return false
    if (isCache(channelKind(envelope.channel))) return this.#storeThenPublish(envelope, origin)
    this.#publishFrom(envelope, origin)
    return true
  }

  /**
   * Whether an event published to `channel` now reaches anyone: a subscriber (the adapter
   * answers), or a cache channel, which keeps its last event for later subscribers (§6.3). The
   * bridge renders a device event only when it does.
   */
  isHeard(appId: string, channel: string): boolean {
    return isCache(channelKind(channel)) || this.#options.adapter.hasSubscribers(appId, channel)
  }

  /**
   * An event nobody hears (`isHeard` false), counted against the app's daily quota as a publish
   * is (Pusher counts a publish whether or not anyone is subscribed) and not sent. False when
   * the quota is spent.
   */
  countUnheard(appId: string): boolean {
    return this.#consumeQuota(appId)
  }

  async #storeThenPublish(envelope: ChannelEnvelope, origin: EventOrigin): Promise<boolean> {
    await this.#options.adapter.cache.set(envelope.appId, envelope.channel, {
      event: envelope.event,
      data: envelope.data,
      expiresAt: Date.now() + this.#options.cacheTtlMs,
    })
    this.#publishFrom(envelope, origin)
    return true
  }

  #publishFrom(envelope: ChannelEnvelope, origin: EventOrigin): void {
    this.#publish(envelope)
    if (origin === 'backend') this.#options.onFromWeb?.(envelope, 'backend')
  }

  /**
   * Stores an event as a cache channel's last event without publishing it (start-up: the
   * state devices left retained becomes what dashboards see first). Other kinds are ignored.
   */
  async seedCache(appId: string, channel: string, event: string, data: unknown): Promise<void> {
    if (!isCache(channelKind(channel))) return
    await this.#options.adapter.cache.set(appId, channel, {
      event,
      data,
      expiresAt: Date.now() + this.#options.cacheTtlMs,
    })
  }

  /**
   * Client events are never cached (§6.3) and never echoed to the sender (§6.4). Returns false,
   * relaying nothing, when the app's daily quota is spent.
   */
  relayClientEvent(envelope: ChannelEnvelope & { exceptSocketId: string }): boolean {
    if (!this.#consumeQuota(envelope.appId)) return false
    this.#publish(envelope)
    this.#options.onFromWeb?.(envelope, 'client')
    this.#emit({
      name: 'client_event',
      appId: envelope.appId,
      channel: envelope.channel,
      event: envelope.event,
      data:
        typeof envelope.data === 'string' ? envelope.data : JSON.stringify(envelope.data ?? null),
      socketId: envelope.exceptSocketId,
      userId: envelope.userId,
    })
    return true
  }

  /**
   * Adds a member that is not a socket (a connected device in `presence-devices`), keyed by
   * `memberKey` so that two connections of one device count as one member (§6.2 refcount).
   */
  async addMember(
    appId: string,
    channel: string,
    memberKey: string,
    member: PresenceMember,
  ): Promise<boolean> {
    const { firstForUser } = await this.#options.adapter.presence.join(
      appId,
      channel,
      memberKey,
      member,
    )
    if (!firstForUser) return false
    this.#publish({
      appId,
      channel,
      event: MEMBER_ADDED,
      data: JSON.stringify({ user_id: member.userId, user_info: member.userInfo }),
    })
    this.#emit({ name: 'member_added', appId, channel, userId: member.userId })
    return true
  }

  /** Removes a member added with `addMember`; true when it was the user's last key. */
  async removeMember(appId: string, channel: string, memberKey: string): Promise<boolean> {
    const { lastForUser, userId } = await this.#options.adapter.presence.leave(
      appId,
      channel,
      memberKey,
    )
    if (!lastForUser || userId === undefined) return false
    this.#publish({
      appId,
      channel,
      event: MEMBER_REMOVED,
      data: JSON.stringify({ user_id: userId }),
    })
    this.#emit({ name: 'member_removed', appId, channel, userId })
    return true
  }

  /** Drops pending presence departures; used on shutdown. */
  flushPendingLeaves(): void {
    this.#departures.clear()
  }

  #consumeQuota(appId: string): boolean {
    const now = Date.now()
    if (!this.#quota.allows(appId, this.#options.messageLimit(appId), 1, now)) return false
    this.#quota.record(appId, 1, now)
    return true
  }

  #publish(envelope: ChannelEnvelope): void {
    this.#options.adapter.publish(envelope)
  }

  #emit(event: LifecycleEvent): void {
    try {
      this.#options.onLifecycle?.(event)
    } catch (error) {
      this.#options.log.error({ err: error, lifecycle: event.name }, 'lifecycle listener failed')
    }
  }

  #countChanged(appId: string, channel: string, count: number): void {
    this.#emit({ name: 'subscription_count', appId, channel, subscriptionCount: count })
    if (!this.#options.countsSubscriptions(appId)) return
    this.#publish({
      appId,
      channel,
      event: SUBSCRIPTION_COUNT,
      data: JSON.stringify({ subscription_count: count }),
    })
  }
}
