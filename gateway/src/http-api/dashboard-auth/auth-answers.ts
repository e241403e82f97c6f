import { channelStringToSign, hmacHex, userStringToSign } from '../../auth/channel-signature.js'
import { channelKind, isPresence } from '../../domain/channel.js'
import type { Principal } from './principal.js'

/** What an app backend's auth endpoint answers (pusher-protocol §9), signed with the app secret. */
export interface ChannelAuthAnswer {
  auth: string
  channel_data?: string
}

export interface UserAuthAnswer {
  auth: string
  user_data: string
}

/** Presence channels get the principal as their member: `channel_data` is signed with them. */
export function channelAuthAnswer(
  principal: Principal,
  socketId: string,
  channel: string,
): ChannelAuthAnswer {
  const { app, user } = principal
  const channelData = isPresence(channelKind(channel))
    ? JSON.stringify({
        user_id: user.id,
        ...(user.info !== undefined ? { user_info: user.info } : {}),
      })
    : undefined
  const auth = `${app.key}:${hmacHex(app.secret, channelStringToSign(socketId, channel, channelData))}`
  return channelData === undefined ? { auth } : { auth, channel_data: channelData }
}

/** pusher-js `signin()` (§8): `user_data` is signed as `socket_id::user::user_data`. */
export function userAuthAnswer(principal: Principal, socketId: string): UserAuthAnswer {
  const { app, user } = principal
  const userData = JSON.stringify({
    id: user.id,
    ...(user.info !== undefined ? { user_info: user.info } : {}),
  })
  return {
    auth: `${app.key}:${hmacHex(app.secret, userStringToSign(socketId, userData))}`,
    user_data: userData,
  }
}
