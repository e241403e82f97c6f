/**
 * One event on its way to the subscribers of one channel. It is built once at ingress (device
 * publish, REST trigger, client event) and serialised to one frame for every local socket.
 */
export interface ChannelEnvelope {
  appId: string
  channel: string
  event: string
  /** A JSON string for REST and device events; whatever the client sent for client events. */
  data: unknown
  /** The socket that caused the event and must not receive it (pusher-protocol §11.2). */
  exceptSocketId?: string | undefined
  /** Added on presence client events (pusher-protocol §6.4). */
  userId?: string | undefined
}
