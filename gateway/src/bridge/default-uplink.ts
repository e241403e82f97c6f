import { payloadToEventData } from './payload.js'

export interface UplinkEvent {
  channel: string
  event: string
  data: string
}

/** Event names a device may not use: pusher-js treats these prefixes as protocol messages. */
const RESERVED_EVENT_PREFIXES = ['pusher:', 'pusher_internal:']

/**
 * The default topic contract (ARCHITECTURE.md): `devices/{deviceId}/events/{event}` from the
 * device itself becomes event `{event}` on `private-device-{deviceId}`. Anything else maps to
 * nothing.
 */
export function mapDefaultUplink(
  deviceId: string,
  topic: string,
  payload: Buffer,
): UplinkEvent | undefined {
  const levels = topic.split('/')
  if (
    levels.length !== 4 ||
    levels[0] !== 'devices' ||
    levels[1] !== deviceId ||
    levels[2] !== 'events'
  ) {
    return undefined
  }
  const event = levels[3] ?? ''
  if (
    event.length === 0 ||
    event.length > 200 ||
    RESERVED_EVENT_PREFIXES.some((p) => event.startsWith(p))
  ) {
    return undefined
  }
  return { channel: `private-device-${deviceId}`, event, data: payloadToEventData(payload) }
}
