import type { ChannelEnvelope } from '../domain/envelope.js'

export interface PresenceMember {
  userId: string
  userInfo: unknown
}

/**
 * Presence membership across every node: a user is a member while at least one of its sockets is
 * (pusher-protocol §6.2). The answers say whether a change crossed that line.
 */
export interface PresenceRegistry {
  join(
    appId: string,
    channel: string,
    socketId: string,
    member: PresenceMember,
  ): Promise<{ firstForUser: boolean }>
  leave(
    appId: string,
    channel: string,
    socketId: string,
  ): Promise<{ lastForUser: boolean; userId?: string }>
  /** Distinct users, each with the user_info of its first socket. */
  members(appId: string, channel: string): Promise<PresenceMember[]>
}

/** Subscriptions per channel across every node (occupancy and subscription_count). */
export interface OccupancyRegistry {
  /** Returns the count after adding. */
  add(appId: string, channel: string, socketId: string): Promise<number>
  /** Returns the count after removing. */
  remove(appId: string, channel: string, socketId: string): Promise<number>
  count(appId: string, channel: string): Promise<number>
  /** Every occupied channel of the app with its subscription count. */
  channels(appId: string): Promise<Map<string, number>>
}

/** Signed-in users (pusher:signin) across every node, for the watchlist. */
export interface UserRegistry {
  signIn(appId: string, userId: string, socketId: string): Promise<{ firstSocket: boolean }>
  signOut(appId: string, userId: string, socketId: string): Promise<{ lastSocket: boolean }>
  /** The subset of `userIds` with at least one signed-in socket. */
  online(appId: string, userIds: readonly string[]): Promise<Set<string>>
}

export interface CachedEvent {
  event: string
  data: unknown
  /** Epoch ms after which the entry no longer counts. */
  expiresAt: number
}

/** The last event of each cache channel (pusher-protocol §6.3). */
export interface ChannelCache {
  set(appId: string, channel: string, entry: CachedEvent): Promise<void>
  get(appId: string, channel: string): Promise<CachedEvent | undefined>
}

/**
 * The only place that knows whether other nodes exist. `publish` reaches every node's local
 * subscribers, this node's included; the registries answer for the whole cluster.
 */
export interface Adapter {
  publish(envelope: ChannelEnvelope): void
  /**
   * False only when `publish` to `channel` now would reach no subscriber on any node; an adapter
   * that cannot tell answers true. Lets the bridge skip reading a payload nobody receives.
   */
  hasSubscribers(appId: string, channel: string): boolean
  readonly presence: PresenceRegistry
  readonly occupancy: OccupancyRegistry
  readonly users: UserRegistry
  readonly cache: ChannelCache
  close(): Promise<void>
}
