import { hmacHex, userStringToSign } from '../../auth/channel-signature.js'
import { safeEqual } from '../../auth/timing-safe.js'
import { WATCHLIST_EVENTS, watchlistEventsData } from '../../channels/user-sessions.js'
import { PusherCode } from '../../errors/pusher-codes.js'
import type { PusherConnection, SignedInState } from '../connection.js'
import { normaliseUserId } from '../presence-member.js'
import { dataField, Events } from '../protocol.js'
import type { FrameHandler } from './context.js'

/** Pusher caps a watchlist at 100 user ids. */
export const MAX_WATCHLIST = 100

/** Parses `user_data` (§8); returns the user or a sentence saying what is wrong. */
function parseUserData(userData: string): SignedInState | string {
  let value: unknown
  try {
    value = JSON.parse(userData)
  } catch {
    return 'user_data is not JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'user_data must be a JSON object'
  const {
    id: rawId,
    user_info: userInfo,
    watchlist: rawWatchlist,
  } = value as Record<string, unknown>
  const id = normaliseUserId(rawId)
  if (id === undefined) return 'user_data.id must be a non-empty string'
  const watchlist = rawWatchlist ?? []
  if (!Array.isArray(watchlist) || !watchlist.every((w) => normaliseUserId(w) !== undefined)) {
    return 'user_data.watchlist must be an array of user ids'
  }
  if (watchlist.length > MAX_WATCHLIST)
    return `user_data.watchlist has more than ${MAX_WATCHLIST} ids`
  return {
    id,
    userInfo,
    watchlist: [...new Set(watchlist.map((w) => normaliseUserId(w) as string))],
  }
}

function refuse(connection: PusherConnection, message: string): void {
  // soketi closes with 4009 on a failed sign-in; pusher-js then stays disconnected (§8).
  connection.close(PusherCode.Unauthorized, message)
}

/** pusher-protocol §8: verify `socket_id::user::user_data`, then join the user's streams. */
export const handleSignin: FrameHandler = async (connection, frame, { users }) => {
  const auth = dataField(frame, 'auth')
  const userData = dataField(frame, 'user_data')
  if (typeof auth !== 'string' || typeof userData !== 'string') {
    refuse(connection, 'pusher:signin needs data.auth and data.user_data as strings')
    return
  }
  const expected = `${connection.app.key}:${hmacHex(connection.app.secret, userStringToSign(connection.socketId, userData))}`
  if (!safeEqual(auth, expected)) {
    refuse(connection, 'Invalid signature for pusher:signin')
    return
  }
  const user = parseUserData(userData)
  if (typeof user === 'string') {
    refuse(connection, user)
    return
  }
  if (connection.user) await users.signOut(connection, connection.user)
  connection.user = user
  connection.sendEvent(Events.SigninSuccess, { user_data: userData })
  const initial = await users.signIn(connection, user)
  if (initial.length > 0) connection.sendEvent(WATCHLIST_EVENTS, watchlistEventsData(initial))
}
