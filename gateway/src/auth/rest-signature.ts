import { createHash } from 'node:crypto'
import { hmacHex } from './channel-signature.js'
import { safeEqual } from './timing-safe.js'

export interface RestRequest {
  method: string
  /** Path as signed: `/apps/{id}/...`, deployment prefix already removed. */
  path: string
  /** The raw query string, without `?`. */
  query: string
  body: Buffer
}

export interface RestCredentials {
  key: string
  secret: string
}

/** Why a request is refused (HTTP 401), or undefined when it verifies. */
export type SignatureProblem = string | undefined

/**
 * Decoded query parameters for signing (pusher-protocol §11.1): values decoded (`+` and `%xx`),
 * keys lower-cased, PHP-style array keys (`channels[]=a&channels[]=b`, `a[0]=…`) folded into
 * one comma-joined value.
 */
export function signingParams(query: string): Map<string, string> {
  const grouped = new Map<string, string[]>()
  for (const [rawKey, value] of new URLSearchParams(query)) {
    const key = rawKey.toLowerCase().replace(/\[[^\]]*\]$/, '')
    const values = grouped.get(key)
    if (values) values.push(value)
    else grouped.set(key, [value])
  }
  return new Map([...grouped].map(([key, values]) => [key, values.join(',')]))
}

/** `METHOD\npath\nk=v&k=v` with keys in byte order and auth_signature left out. */
export function stringToSign(method: string, path: string, params: Map<string, string>): string {
  const pairs = [...params]
    .filter(([key]) => key !== 'auth_signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
  return `${method.toUpperCase()}\n${path}\n${pairs.join('&')}`
}

export function md5Hex(body: Buffer): string {
  return createHash('md5').update(body).digest('hex')
}

/**
 * Verifies a signed REST request (§11.1). `windowSeconds` bounds how far auth_timestamp may be
 * from `nowSeconds`; 0 disables that check.
 */
export function verifyRestSignature(
  request: RestRequest,
  app: RestCredentials,
  nowSeconds: number,
  windowSeconds: number,
): SignatureProblem {
  const params = signingParams(request.query)
  const key = params.get('auth_key')
  const timestamp = params.get('auth_timestamp')
  const signature = params.get('auth_signature')
  if (
    key === undefined ||
    timestamp === undefined ||
    signature === undefined ||
    !params.has('auth_version')
  ) {
    return 'Missing auth_key, auth_timestamp, auth_version or auth_signature'
  }
  if (key !== app.key) return 'auth_key does not match the app'
  if (windowSeconds > 0 && !(Math.abs(nowSeconds - Number(timestamp)) <= windowSeconds)) {
    return `auth_timestamp is more than ${windowSeconds} seconds from the server time (${nowSeconds})`
  }
  if (request.body.length > 0) {
    const bodyMd5 = params.get('body_md5')
    if (bodyMd5 === undefined) return 'body_md5 is required with a request body'
    if (!safeEqual(bodyMd5, md5Hex(request.body))) return 'body_md5 does not match the body'
  }
  const expected = hmacHex(app.secret, stringToSign(request.method, request.path, params))
  return safeEqual(signature, expected)
    ? undefined
    : 'Invalid signature: check the app secret and the signed path'
}
