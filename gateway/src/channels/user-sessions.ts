import type { Adapter } from '../adapter/adapter.js'
import { userChannel, watchChannel } from '../domain/channel.js'
import type { ChannelHub } from './channel-hub.js'
import type { ChannelSocket } from './channels.js'

export const WATCHLIST_EVENTS = 'pusher_internal:watchlist_events'

export interface SignedInUser {
  id: string
  watchlist: readonly string[]
}

interface WatchlistEvent {
  name: 'online' | 'offline'
  user_ids: string[]
}

/** The data of one `pusher_internal:watchlist_events` frame, in the wrapper pusher-js 8 reads (§8). */
export function watchlistEventsData(events: WatchlistEvent[]): string {
  return JSON.stringify({ events })
}

/**
 * Signed-in users (pusher-protocol §8): every socket of a user receives `#server-to-user-{id}`
 * events, and watchers hear `online` when a user gets its first signed-in socket anywhere and
 * `offline` when its last one closes.
 */
export class UserSessions {
  readonly #hub: ChannelHub
  readonly #adapter: Adapter

  constructor(hub: ChannelHub, adapter: Adapter) {
    this.#hub = hub
    this.#adapter = adapter
  }

  /** Returns the initial watchlist events for the signer (empty when it watches nobody). */
  async signIn(socket: ChannelSocket, user: SignedInUser): Promise<WatchlistEvent[]> {
    this.#hub.subscribe(socket.appId, userChannel(user.id), socket)
    for (const watched of user.watchlist)
      this.#hub.subscribe(socket.appId, watchChannel(watched), socket)
    const { firstSocket } = await this.#adapter.users.signIn(socket.appId, user.id, socket.socketId)
    if (firstSocket) this.#announce(socket.appId, user.id, 'online')
    if (user.watchlist.length === 0) return []
    const online = await this.#adapter.users.online(socket.appId, user.watchlist)
    const events: WatchlistEvent[] = [
      { name: 'online', user_ids: user.watchlist.filter((id) => online.has(id)) },
      { name: 'offline', user_ids: user.watchlist.filter((id) => !online.has(id)) },
    ]
    return events.filter((event) => event.user_ids.length > 0)
  }

  async signOut(socket: ChannelSocket, user: SignedInUser): Promise<void> {
    this.#hub.unsubscribe(socket.appId, userChannel(user.id), socket)
    for (const watched of user.watchlist)
      this.#hub.unsubscribe(socket.appId, watchChannel(watched), socket)
    const { lastSocket } = await this.#adapter.users.signOut(socket.appId, user.id, socket.socketId)
    if (lastSocket) this.#announce(socket.appId, user.id, 'offline')
  }

  #announce(appId: string, userId: string, name: 'online' | 'offline'): void {
    this.#adapter.publish({
      appId,
      channel: watchChannel(userId),
      event: WATCHLIST_EVENTS,
      data: watchlistEventsData([{ name, user_ids: [userId] }]),
      global: true,
    })
  }
}
