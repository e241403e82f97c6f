import { isUtf8 } from 'node:buffer'

export type PayloadMode = 'auto' | 'json' | 'text' | 'base64'

/**
 * A device payload as Pusher event data, which is always a JSON string (ARCHITECTURE.md, default
 * topic contract). `auto`: JSON bytes are kept as they are, other UTF-8 text becomes a JSON string,
 * anything else `{"base64": ...}`. The forced modes return undefined for a payload that is not of
 * their kind (json: not JSON; text: not UTF-8).
 */
export function payloadToEventData(
  payload: Buffer,
  mode: PayloadMode = 'auto',
): string | undefined {
  const base64 = () => JSON.stringify({ base64: payload.toString('base64') })
  if (mode === 'base64') return base64()
  if (!isUtf8(payload)) return mode === 'auto' ? base64() : undefined
  const text = payload.toString('utf8')
  if (mode === 'text') return JSON.stringify(text)
  if (isJson(text)) return text
  return mode === 'json' ? undefined : JSON.stringify(text)
}

function isJson(text: string): boolean {
  // JSON.parse refuses an empty or all-whitespace text, so no trim is needed first.
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
