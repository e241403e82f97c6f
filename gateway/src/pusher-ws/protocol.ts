/** Pusher protocol v7 event names (pusher-protocol §3); they appear nowhere else. */
export const Events = {
  ConnectionEstablished: 'pusher:connection_established',
  Error: 'pusher:error',
  Ping: 'pusher:ping',
  Pong: 'pusher:pong',
  Subscribe: 'pusher:subscribe',
  Unsubscribe: 'pusher:unsubscribe',
  Signin: 'pusher:signin',
  SigninSuccess: 'pusher:signin_success',
  SubscriptionError: 'pusher:subscription_error',
  CacheMiss: 'pusher:cache_miss',
  SubscriptionSucceeded: 'pusher_internal:subscription_succeeded',
} as const

/** A frame from a client after the envelope has been checked. */
export interface ClientFrame {
  event: string
  channel?: string | undefined
  /** Objects as pusher-js sends them; JSON strings from other SDKs are parsed (pusher-protocol §0.3). */
  data: unknown
  /** `data` exactly as it arrived, for client events, which are forwarded unchanged (§2). */
  rawData: unknown
}

/** Returns the frame, or a sentence saying what is wrong with it. */
export function parseClientFrame(text: string): ClientFrame | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'Invalid message format: not JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'Invalid message format: expected a JSON object'
  }
  const { event, channel, data } = value as Record<string, unknown>
  if (typeof event !== 'string' || event.length === 0) {
    return 'Invalid message format: "event" must be a non-empty string'
  }
  if (channel !== undefined && typeof channel !== 'string') {
    return 'Invalid message format: "channel" must be a string'
  }
  return { event, channel, data: decodeData(data), rawData: data }
}

function decodeData(data: unknown): unknown {
  if (typeof data !== 'string') return data
  try {
    return JSON.parse(data)
  } catch {
    return data
  }
}

/** Reads one field of a frame's data object; undefined when data is not an object. */
export function dataField(frame: ClientFrame, name: string): unknown {
  const data = frame.data
  return typeof data === 'object' && data !== null
    ? (data as Record<string, unknown>)[name]
    : undefined
}

/** Server frames: `pusher:*` and `pusher_internal:*` data goes out as a JSON string (§2). */
export function encodeFrame(event: string, data?: unknown, channel?: string): string {
  return JSON.stringify({
    event,
    ...(channel === undefined ? {} : { channel }),
    ...(data === undefined ? {} : { data: typeof data === 'string' ? data : JSON.stringify(data) }),
  })
}

/** `pusher:error` carries an object (soketi, pusher-js reads `data.code`). */
export function encodeError(code: number | null, message: string): string {
  return JSON.stringify({ event: Events.Error, data: { code, message } })
}
