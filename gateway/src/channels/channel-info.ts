import type { Adapter } from '../adapter/adapter.js'
import { channelKind, isCache, isPresence } from '../domain/channel.js'

export type ChannelAttribute = 'user_count' | 'subscription_count' | 'cache'

export interface ChannelInfo {
  occupied?: boolean
  user_count?: number
  subscription_count?: number
  cache?: { data: unknown; ttl: number } | null
}

/** Why an attribute cannot be reported for a channel kind (§11.2: HTTP 400), if it cannot. */
export function attributeProblem(channel: string, attribute: string): string | undefined {
  const kind = channelKind(channel)
  if (attribute === 'user_count')
    return isPresence(kind) ? undefined : 'user_count is only available for presence channels'
  if (attribute === 'subscription_count') {
    return isPresence(kind)
      ? 'subscription_count is not available for presence channels'
      : undefined
  }
  if (attribute === 'cache')
    return isCache(kind) ? undefined : 'cache is only available for cache channels'
  return `unknown info attribute ${attribute}`
}

/** Reads channel state for the REST API from the adapter, so it answers for the whole cluster. */
export class ChannelInfoReader {
  readonly #adapter: Adapter

  constructor(adapter: Adapter) {
    this.#adapter = adapter
  }

  async occupied(appId: string): Promise<Map<string, number>> {
    return this.#adapter.occupancy.channels(appId)
  }

  async userCount(appId: string, channel: string): Promise<number> {
    return (await this.#adapter.presence.members(appId, channel)).length
  }

  async userIds(appId: string, channel: string): Promise<string[]> {
    return (await this.#adapter.presence.members(appId, channel)).map((m) => m.userId)
  }

  /** The requested attributes; callers check them with `attributeProblem` first. */
  async describe(
    appId: string,
    channel: string,
    attributes: readonly string[],
  ): Promise<ChannelInfo> {
    const info: ChannelInfo = {}
    const subscriptions = await this.#adapter.occupancy.count(appId, channel)
    if (attributes.includes('user_count')) info.user_count = await this.userCount(appId, channel)
    if (attributes.includes('subscription_count')) info.subscription_count = subscriptions
    if (attributes.includes('cache')) {
      const cached = await this.#adapter.cache.get(appId, channel)
      info.cache = cached
        ? {
            data: cached.data,
            ttl: Math.max(0, Math.round((cached.expiresAt - Date.now()) / 1000)),
          }
        : null
    }
    return { occupied: subscriptions > 0, ...info }
  }
}
