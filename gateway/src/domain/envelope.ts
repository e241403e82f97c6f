/**
 * One event on its way to the subscribers of one channel. It is built once at ingress (device
 * publish, REST trigger, client event) and serialised to one frame for every local socket.
 */
export interface ChannelEnvelope {
  appId: string
  /** Routing key: the sockets subscribed to this channel receive the frame. */
  channel: string
  event: string
  /** A JSON string for REST and device events; whatever the client sent for client events. */
  data: unknown
  /** The socket that caused the event and must not receive it (pusher-protocol §11.2). */
  exceptSocketId?: string | undefined
  /** Added on presence client events (pusher-protocol §6.4). */
  userId?: string | undefined
  /** The frame omits `channel`: watchlist events are global in pusher-js (§8). */
  global?: boolean | undefined
}
