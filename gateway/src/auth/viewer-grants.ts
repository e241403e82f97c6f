import type { Device } from '../domain/device.js'
import { DEVICE_ID_PATTERN } from '../domain/names.js'

/**
 * The channels that belong to one device under the default topic contract: its events, commands
 * and acks travel on `private-device-{id}`; the cache and encrypted variants carry the same
 * device-scoped data when a rule maps there. Longest prefix first, so each name parses one way.
 */
const DEVICE_CHANNEL_PREFIXES = [
  'private-encrypted-cache-device-',
  'private-encrypted-device-',
  'private-cache-device-',
  'private-device-',
] as const

/** The id of the device whose channel this is, or undefined for any other channel. */
export function deviceOfChannel(channel: string): string | undefined {
  const prefix = DEVICE_CHANNEL_PREFIXES.find((p) => channel.startsWith(p))
  const id = prefix && channel.slice(prefix.length)
  return id && DEVICE_ID_PATTERN.test(id) ? id : undefined
}

/** `tag:<key>=<value>` grants the device channels of every device of the app with that tag. */
export const TAG_GRANT_PREFIX = 'tag:'

/**
 * Glob match where `*` stands for any run of characters. Iterative with one backtrack point, so
 * a pattern full of stars costs O(pattern × channel) at worst, never exponential time.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p += 1
      t += 1
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p
      resume = t
      p += 1
    } else if (star >= 0) {
      p = star + 1
      resume += 1
      t = resume
    } else {
      return false
    }
  }
  while (pattern[p] === '*') p += 1
  return p === pattern.length
}

/** Whether one of the grants covers the channel. `findDevice` is asked only for tag grants. */
export function grantsCover(
  grants: readonly string[],
  channel: string,
  appId: string,
  findDevice: (id: string) => Device | undefined,
): boolean {
  let device: Device | undefined | null = null
  // Looked up at most once per request, and at auth time, so a tag change counts at once.
  const deviceOf = () => {
    if (device === null) {
      const id = deviceOfChannel(channel)
      const found = id === undefined ? undefined : findDevice(id)
      device = found?.appId === appId ? found : undefined
    }
    return device
  }
  return grants.some((grant) => {
    if (!grant.startsWith(TAG_GRANT_PREFIX)) return globMatches(grant, channel)
    const pair = grant.slice(TAG_GRANT_PREFIX.length)
    const equals = pair.indexOf('=')
    if (equals < 1) return false
    const tags = deviceOf()?.tags
    const key = pair.slice(0, equals)
    return tags !== undefined && Object.hasOwn(tags, key) && tags[key] === pair.slice(equals + 1)
  })
}
