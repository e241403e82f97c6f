import type {
  CachedEvent,
  ChannelCache,
  OccupancyRegistry,
  PresenceMember,
  PresenceRegistry,
  UserRegistry,
} from './adapter.js'

/** `app \0 channel` keys: \0 appears in neither ids nor channel names. */
function scope(appId: string, name: string): string {
  return `${appId}\u0000${name}`
}

/** A map of sets that forgets empty sets, so long-running nodes do not accumulate keys. */
class SetMap<V> {
  readonly #map = new Map<string, Set<V>>()

  add(key: string, value: V): number {
    let set = this.#map.get(key)
    if (!set) {
      set = new Set()
      this.#map.set(key, set)
    }
    set.add(value)
    return set.size
  }

  delete(key: string, value: V): number {
    const set = this.#map.get(key)
    if (!set) return 0
    set.delete(value)
    if (set.size === 0) this.#map.delete(key)
    return set.size
  }

  size(key: string): number {
    return this.#map.get(key)?.size ?? 0
  }
}

export class LocalOccupancy implements OccupancyRegistry {
  /** app -> channel -> socket ids */
  readonly #apps = new Map<string, Map<string, Set<string>>>()

  async add(appId: string, channel: string, socketId: string): Promise<number> {
    let channels = this.#apps.get(appId)
    if (!channels) {
      channels = new Map()
      this.#apps.set(appId, channels)
    }
    let sockets = channels.get(channel)
    if (!sockets) {
      sockets = new Set()
      channels.set(channel, sockets)
    }
    sockets.add(socketId)
    return sockets.size
  }

  async remove(appId: string, channel: string, socketId: string): Promise<number> {
    const channels = this.#apps.get(appId)
    const sockets = channels?.get(channel)
    if (!channels || !sockets) return 0
    sockets.delete(socketId)
    if (sockets.size === 0) channels.delete(channel)
    if (channels.size === 0) this.#apps.delete(appId)
    return sockets.size
  }

  async count(appId: string, channel: string): Promise<number> {
    return this.#apps.get(appId)?.get(channel)?.size ?? 0
  }

  async channels(appId: string): Promise<Map<string, number>> {
    const channels = this.#apps.get(appId)
    return new Map([...(channels ?? [])].map(([channel, sockets]) => [channel, sockets.size]))
  }
}

interface PresenceChannelState {
  /** socket id -> user id */
  sockets: Map<string, string>
  /** user id -> member (first user_info wins) and its socket count */
  users: Map<string, { member: PresenceMember; sockets: number }>
}

export class LocalPresence implements PresenceRegistry {
  readonly #channels = new Map<string, PresenceChannelState>()

  async join(appId: string, channel: string, socketId: string, member: PresenceMember) {
    const key = scope(appId, channel)
    let state = this.#channels.get(key)
    if (!state) {
      state = { sockets: new Map(), users: new Map() }
      this.#channels.set(key, state)
    }
    if (state.sockets.has(socketId)) return { firstForUser: false }
    state.sockets.set(socketId, member.userId)
    const user = state.users.get(member.userId)
    if (user) {
      user.sockets += 1
      return { firstForUser: false }
    }
    state.users.set(member.userId, { member, sockets: 1 })
    return { firstForUser: true }
  }

  async leave(appId: string, channel: string, socketId: string) {
    const key = scope(appId, channel)
    const state = this.#channels.get(key)
    const userId = state?.sockets.get(socketId)
    if (!state || userId === undefined) return { lastForUser: false }
    state.sockets.delete(socketId)
    const user = state.users.get(userId)
    if (user && user.sockets > 1) {
      user.sockets -= 1
      return { lastForUser: false, userId }
    }
    state.users.delete(userId)
    if (state.users.size === 0) this.#channels.delete(key)
    return { lastForUser: true, userId }
  }

  async members(appId: string, channel: string): Promise<PresenceMember[]> {
    const state = this.#channels.get(scope(appId, channel))
    return state ? [...state.users.values()].map((u) => u.member) : []
  }
}

export class LocalUsers implements UserRegistry {
  readonly #sockets = new SetMap<string>()

  async signIn(appId: string, userId: string, socketId: string) {
    return { firstSocket: this.#sockets.add(scope(appId, userId), socketId) === 1 }
  }

  async signOut(appId: string, userId: string, socketId: string) {
    const before = this.#sockets.size(scope(appId, userId))
    const after = this.#sockets.delete(scope(appId, userId), socketId)
    return { lastSocket: before > 0 && after === 0 }
  }

  async online(appId: string, userIds: readonly string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.#sockets.size(scope(appId, id)) > 0))
  }
}

/** Bounded by the number of cache channels ever written; expired entries go on read. */
export class LocalCache implements ChannelCache {
  readonly #entries = new Map<string, CachedEvent>()

  async set(appId: string, channel: string, entry: CachedEvent): Promise<void> {
    this.#entries.set(scope(appId, channel), entry)
  }

  async get(appId: string, channel: string): Promise<CachedEvent | undefined> {
    const key = scope(appId, channel)
    const entry = this.#entries.get(key)
    if (entry && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }
}
