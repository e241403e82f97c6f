export type ChannelKind =
  | 'public'
  | 'private'
  | 'private-encrypted'
  | 'private-encrypted-cache'
  | 'private-cache'
  | 'presence'
  | 'presence-cache'
  | 'cache'
  | 'server-to-user'

export const SERVER_TO_USER_PREFIX = '#server-to-user-'

/** Longest prefix first: the order is the rule (pusher-protocol §5.1). */
const PREFIXES: ReadonlyArray<readonly [string, ChannelKind]> = [
  ['private-encrypted-cache-', 'private-encrypted-cache'],
  ['private-encrypted-', 'private-encrypted'],
  ['private-cache-', 'private-cache'],
  ['private-', 'private'],
  ['presence-cache-', 'presence-cache'],
  ['presence-', 'presence'],
  ['cache-', 'cache'],
  [SERVER_TO_USER_PREFIX, 'server-to-user'],
]

/** The only place that maps a channel name to its kind. */
export function channelKind(name: string): ChannelKind {
  for (const [prefix, kind] of PREFIXES) if (name.startsWith(prefix)) return kind
  return 'public'
}

/** Kinds whose subscription needs a signature from the app backend (pusher-protocol §9). */
export function requiresChannelAuth(kind: ChannelKind): boolean {
  return kind !== 'public' && kind !== 'cache' && kind !== 'server-to-user'
}

export function isPresence(kind: ChannelKind): boolean {
  return kind === 'presence' || kind === 'presence-cache'
}

export function isCache(kind: ChannelKind): boolean {
  return (
    kind === 'cache' ||
    kind === 'private-cache' ||
    kind === 'presence-cache' ||
    kind === 'private-encrypted-cache'
  )
}

export function isEncrypted(kind: ChannelKind): boolean {
  return kind === 'private-encrypted' || kind === 'private-encrypted-cache'
}

/** Client events are allowed on private and presence channels, never encrypted ones (§6.4). */
export function acceptsClientEvents(kind: ChannelKind): boolean {
  return (
    kind === 'private' ||
    kind === 'private-cache' ||
    kind === 'presence' ||
    kind === 'presence-cache'
  )
}

/** The channel pusher-js subscribes to after sign-in; events on it reach every socket of the user. */
export function userChannel(userId: string): string {
  return `${SERVER_TO_USER_PREFIX}${userId}`
}

/**
 * Internal channel of the watchers of one user. The `:` is outside the channel character set, so
 * no client can subscribe to it.
 */
export function watchChannel(userId: string): string {
  return `#watch:${userId}`
}
