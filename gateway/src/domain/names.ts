/** Characters Pusher allows in channel names (pusher-protocol §5.2). */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9_\-=@,.;]+$/
export const MAX_CHANNEL_NAME_LENGTH = 200

/**
 * Device ids double as MQTT usernames and client ids, as a topic level and inside channel names
 * (`private-device-{id}`), so they must be safe in all four places.
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
export const DEVICE_ID_RULE =
  '1-64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit'

/** App ids appear in REST paths (`/apps/{id}/...`). */
export const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
export const APP_ID_RULE = '1-64 characters from A-Z a-z 0-9 _ -, starting with a letter or digit'

/** App keys appear in the WebSocket path (`/app/{key}`) and before the `:` of auth strings. */
export const APP_KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

export function isValidChannelName(name: string): boolean {
  return name.length <= MAX_CHANNEL_NAME_LENGTH && CHANNEL_NAME_PATTERN.test(name)
}
