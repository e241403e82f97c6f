import type { PresenceMember } from '../adapter/adapter.js'

/** Pusher's limit on presence user ids (pusher-protocol §5.2). */
export const MAX_USER_ID_LENGTH = 128

/** Turns a `user_id` that may be a number into the string used for identity (§6.2). */
export function normaliseUserId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'string' && value.length > 0) return value
  return undefined
}

/** Parses presence `channel_data`; returns the member or a sentence saying what is wrong. */
export function parseChannelData(channelData: string, maxBytes: number): PresenceMember | string {
  if (Buffer.byteLength(channelData) > maxBytes)
    return `channel_data is larger than ${maxBytes} bytes`
  let value: unknown
  try {
    value = JSON.parse(channelData)
  } catch {
    return 'channel_data is not JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'channel_data must be a JSON object'
  const { user_id: rawId, user_info: userInfo } = value as Record<string, unknown>
  const userId = normaliseUserId(rawId)
  if (userId === undefined) return 'channel_data.user_id must be a non-empty string or a number'
  if (userId.length > MAX_USER_ID_LENGTH)
    return `channel_data.user_id is longer than ${MAX_USER_ID_LENGTH} characters`
  return { userId, userInfo }
}

/** The roster pusher-js expects in presence subscription_succeeded (pusher-protocol §3.3). */
export function rosterData(members: PresenceMember[]): string {
  const hash: Record<string, unknown> = {}
  for (const member of members) hash[member.userId] = member.userInfo ?? null
  return JSON.stringify({
    presence: { ids: members.map((m) => m.userId), hash, count: members.length },
  })
}
