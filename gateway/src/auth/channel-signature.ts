import { createHmac } from 'node:crypto'
import type { App } from '../domain/app.js'
import { safeEqual } from './timing-safe.js'

export function hmacHex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message).digest('hex')
}

/**
 * The string an app backend signs for a channel subscription (pusher-protocol §9): with
 * channel_data it is `socket_id:channel:channel_data`, without it `socket_id:channel`.
 */
export function channelStringToSign(
  socketId: string,
  channel: string,
  channelData?: string,
): string {
  return channelData === undefined
    ? `${socketId}:${channel}`
    : `${socketId}:${channel}:${channelData}`
}

/** The string a user sign-in is signed over (pusher-protocol §8): `socket_id::user::user_data`. */
export function userStringToSign(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`
}

/** `auth` must be `{app key}:{hex hmac}`; the key prefix is checked too, not only the digest. */
export function verifyChannelAuth(
  app: Pick<App, 'key' | 'secret'>,
  socketId: string,
  channel: string,
  auth: string,
  channelData?: string,
): boolean {
  const expected = `${app.key}:${hmacHex(app.secret, channelStringToSign(socketId, channel, channelData))}`
  return safeEqual(auth, expected)
}
