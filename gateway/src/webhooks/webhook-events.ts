import type { LifecycleEvent } from '../domain/lifecycle.js'

/** One entry of a webhook body's `events` array (pusher-protocol §12), keys in the spec's order. */
export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string }
  | {
      name: 'client_event'
      channel: string
      event: string
      data: string
      socket_id: string
      user_id?: string
    }
  | { name: 'subscription_count'; channel: string; subscription_count: number }
  | { name: 'device_connected' | 'device_disconnected'; channel: string; device_id: string }

/** Fleetcast's own events, sent only to targets whose `events` list names them. */
export const DEVICE_EVENTS: ReadonlySet<string> = new Set([
  'device_connected',
  'device_disconnected',
])

/** The channel a device's events arrive on; device webhooks carry it too. */
export function deviceChannel(deviceId: string): string {
  return `private-device-${deviceId}`
}

/** The §12 event object for a lifecycle fact. */
export function toWebhookEvent(event: LifecycleEvent): WebhookEvent {
  switch (event.name) {
    case 'channel_occupied':
    case 'channel_vacated':
    case 'cache_miss':
      return { name: event.name, channel: event.channel }
    case 'member_added':
    case 'member_removed':
      return { name: event.name, channel: event.channel, user_id: event.userId }
    case 'client_event':
      return {
        name: event.name,
        channel: event.channel,
        event: event.event,
        data: event.data,
        socket_id: event.socketId,
        // Presence channels only: the channel layer sets userId there and nowhere else.
        ...(event.userId === undefined ? {} : { user_id: event.userId }),
      }
    case 'subscription_count':
      return {
        name: event.name,
        channel: event.channel,
        subscription_count: event.subscriptionCount,
      }
    case 'device_connected':
    case 'device_disconnected':
      return { name: event.name, channel: deviceChannel(event.deviceId), device_id: event.deviceId }
  }
}

/** The POST body: `{"time_ms":…,"events":[…]}`, the exact bytes that are signed and sent. */
export function webhookBody(timeMs: number, events: readonly WebhookEvent[]): string {
  return JSON.stringify({ time_ms: timeMs, events })
}
