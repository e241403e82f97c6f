import type { IncomingHttpHeaders } from 'node:http'

/** The allowlist rule of `apps[].allowedOrigins`, as the WebSocket edge applies it. */
export type OriginRule = (origin: string | undefined, allowed: readonly string[]) => boolean

/** A header list as browsers send it in Access-Control-Request-Headers. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/
const ALWAYS_ALLOWED = 'authorization, content-type'

/**
 * Response headers for a cross-origin dashboard: the origin is echoed when `allowed` accepts it.
 * Credentials mode is not needed (the Authorization header is set by script, not by the browser),
 * so Access-Control-Allow-Credentials is never sent.
 */
export function corsHeaders(
  origin: string | undefined,
  allowed: (origin: string) => boolean,
): Record<string, string> {
  if (origin === undefined) return {}
  const headers: Record<string, string> = { vary: 'Origin' }
  if (allowed(origin)) {
    headers['access-control-allow-origin'] = origin
    // Lets the page read why it was refused and when to retry.
    headers['access-control-expose-headers'] = 'WWW-Authenticate, Retry-After'
  }
  return headers
}

/**
 * The answer to a preflight: which method and headers the real request may use. The requested
 * headers are echoed so pages that add their own (Laravel Echo's X-CSRF-TOKEN) still pass.
 */
export function preflightHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const requested = headers['access-control-request-headers']?.trim()
  return {
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers':
      requested && HEADER_LIST.test(requested) ? `${ALWAYS_ALLOWED}, ${requested}` : ALWAYS_ALLOWED,
    'access-control-max-age': '600',
  }
}
