import { hmacHex } from '../auth/channel-signature.js'

/**
 * `X-Pusher-Signature` (pusher-protocol §12): hex HMAC-SHA256 of the exact body bytes, keyed
 * with the app secret as it is when the POST goes out (a rotated secret signs retries too).
 */
export function signWebhook(secret: string, body: string): string {
  return hmacHex(secret, body)
}
