/**
 * Facts the channel layer and the broker report as they happen. Their names are the Pusher
 * webhook names (pusher-protocol §12) plus the device extras; the webhook sender and the metrics
 * listen to them, nobody imports those.
 */
export type LifecycleEvent =
  | { name: 'channel_occupied'; appId: string; channel: string }
  | { name: 'channel_vacated'; appId: string; channel: string }
  | { name: 'member_added'; appId: string; channel: string; userId: string }
  | { name: 'member_removed'; appId: string; channel: string; userId: string }
  | {
      name: 'client_event'
      appId: string
      channel: string
      event: string
      /** JSON text: client data that arrived as an object is serialised (§12 [rec]). */
      data: string
      socketId: string
      userId?: string | undefined
    }
  | { name: 'cache_miss'; appId: string; channel: string }
  | { name: 'subscription_count'; appId: string; channel: string; subscriptionCount: number }
  | { name: 'device_connected'; appId: string; deviceId: string }
  | { name: 'device_disconnected'; appId: string; deviceId: string }

export type LifecycleListener = (event: LifecycleEvent) => void
