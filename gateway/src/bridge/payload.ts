import { isUtf8 } from 'node:buffer'

/**
 * A device payload as Pusher event data, which is always a JSON string (ARCHITECTURE.md, default
 * topic contract): JSON bytes are kept as they are, other UTF-8 text becomes a JSON string, and
 * anything else becomes `{"base64": ...}`.
 */
export function payloadToEventData(payload: Buffer): string {
  if (!isUtf8(payload)) return JSON.stringify({ base64: payload.toString('base64') })
  const text = payload.toString('utf8')
  return isJson(text) ? text : JSON.stringify(text)
}

function isJson(text: string): boolean {
  if (text.trim().length === 0) return false
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
