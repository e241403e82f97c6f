import { TAG_GRANT_PREFIX } from '../auth/viewer-grants.js'
import type { NewClaimInput, NewTokenInput } from './fleet-operations.js'
import { tagEntryProblems, textProblems } from './provision-device.js'

/** Longest ttl a token or claim accepts: ten years, in seconds. */
const MAX_TTL_SECONDS = 10 * 365 * 86_400
const MAX_LABEL_LENGTH = 200
const MAX_USER_ID_LENGTH = 128
/** A viewer grant: a channel name pattern where `*` matches any run of channel characters. */
const CHANNEL_GRANT_PATTERN = /^[A-Za-z0-9_\-=@,.;*]{1,200}$/

/** Problems with one viewer grant: a channel pattern or `tag:<key>=<value>`. */
function grantProblems(grant: string, index: number): string[] {
  const field = `grants[${index}]`
  if (grant.startsWith(TAG_GRANT_PREFIX)) {
    const pair = grant.slice(TAG_GRANT_PREFIX.length)
    const at = pair.indexOf('=')
    if (at <= 0) return [`${field}: "${grant.slice(0, 80)}" must look like tag:<key>=<value>`]
    return tagEntryProblems(field, pair.slice(0, at), pair.slice(at + 1))
  }
  if (CHANNEL_GRANT_PATTERN.test(grant)) return []
  return [
    `${field}: "${grant.slice(0, 80)}" is neither tag:<key>=<value> nor a channel pattern (1-200 characters from A-Z a-z 0-9 _ - = @ , . ; and * as a wildcard)`,
  ]
}

function ttlProblems(ttlSeconds: number | undefined): string[] {
  if (ttlSeconds === undefined) return []
  if (Number.isInteger(ttlSeconds) && ttlSeconds >= 1 && ttlSeconds <= MAX_TTL_SECONDS) return []
  return [`ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}, got ${ttlSeconds}`]
}

/** The expiry a ttl gives from now (epoch ms); none without a ttl. */
export function expiry(ttlSeconds: number | undefined): number | undefined {
  return ttlSeconds === undefined ? undefined : Date.now() + ttlSeconds * 1000
}

/** What is wrong with a token request, one sentence each; the app is checked elsewhere. */
export function tokenProblems(input: NewTokenInput): string[] {
  const grants = input.grants ?? []
  const viewer = input.kind === 'viewer'
  return [
    ...(viewer || input.kind === 'admin'
      ? []
      : [`kind must be admin or viewer, got ${String(input.kind)}`]),
    ...(!viewer && (grants.length > 0 || input.userId !== undefined)
      ? ['grants and userId apply to viewer tokens only']
      : []),
    ...(viewer && grants.length === 0 ? ['a viewer token needs at least one grant'] : []),
    ...grants.flatMap(grantProblems),
    ...(input.userId === ''
      ? ['userId must not be empty']
      : textProblems('userId', input.userId ?? '', MAX_USER_ID_LENGTH)),
    ...textProblems('label', input.label ?? '', MAX_LABEL_LENGTH),
    ...ttlProblems(input.ttlSeconds),
  ]
}

/** What is wrong with a claim request besides `uses`, which the claim store checks. */
export function claimProblems(input: NewClaimInput): string[] {
  return [
    ...Object.entries(input.tags ?? {}).flatMap(([key, value]) =>
      tagEntryProblems('tags', key, value),
    ),
    ...textProblems('label', input.label ?? '', MAX_LABEL_LENGTH),
    ...ttlProblems(input.ttlSeconds),
  ]
}
