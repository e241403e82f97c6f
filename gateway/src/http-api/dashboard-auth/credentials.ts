import { HttpError } from '../http-error.js'

/** What the `Authorization` header presents: a viewer token, or a device's own id and secret. */
export type Credentials =
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; deviceId: string; secret: string }

/**
 * Challenges for a 401 (RFC 7235), naming the scheme the client tried so a browser showing a
 * dashboard is not asked for a password it never meant to give.
 */
export function challenge(scheme: 'bearer' | 'basic', error?: 'invalid_token'): string {
  if (scheme === 'basic') return 'Basic realm="fleetcast", charset="UTF-8"'
  return error ? `Bearer realm="fleetcast", error="${error}"` : 'Bearer realm="fleetcast"'
}

export function unauthorized(
  message: string,
  scheme: 'bearer' | 'basic',
  error?: 'invalid_token',
): HttpError {
  return new HttpError(401, message, { 'www-authenticate': challenge(scheme, error) })
}

/** base64 as RFC 7617 uses it: the standard alphabet, padded. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function parseBasic(encoded: string): Credentials {
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) {
    throw unauthorized('Basic credentials must be base64 of <deviceId>:<secret>', 'basic')
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1 || colon === decoded.length - 1) {
    throw unauthorized('Basic credentials must be base64 of <deviceId>:<secret>', 'basic')
  }
  return { scheme: 'basic', deviceId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

/** Parses `Authorization: Bearer <token>` or `Authorization: Basic <base64>`; 401 otherwise. */
export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined || header.trim() === '') {
    throw unauthorized(
      'Authorization header is missing: send Bearer <viewer token> or Basic <deviceId:secret>',
      'bearer',
    )
  }
  const match = /^(\S+) +(\S+)$/.exec(header.trim())
  const scheme = match?.[1]?.toLowerCase()
  const value = match?.[2] ?? ''
  if (scheme === 'bearer') return { scheme: 'bearer', token: value }
  if (scheme === 'basic') return parseBasic(value)
  throw unauthorized(
    'Authorization header must be Bearer <viewer token> or Basic <deviceId:secret>',
    'bearer',
  )
}
