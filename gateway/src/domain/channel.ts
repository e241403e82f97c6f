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

/** Kinds whose subscription needs a signature from the app backend. */
export function requiresChannelAuth(kind: ChannelKind): boolean {
  return kind !== 'public' && kind !== 'cache' && kind !== 'server-to-user'
}
