export type Edge = 'pusher' | 'mqtt' | 'rest'

/**
 * What the edges report for /metrics. Implemented by metrics/, passed in by the composition root;
 * modules never import prom-client themselves.
 */
export interface Meter {
  /** One message entered through an edge (client event, device publish, REST event). */
  messageIn(edge: Edge): void
  /** Messages written out through an edge (frames to sockets, publishes to devices). */
  messagesOut(edge: Edge, count: number): void
  /** A message that was accepted but not delivered, by reason (slow_consumer, quota, ...). */
  dropped(reason: string): void
  /** A request, connection or frame refused, by reason (pusher_4001, mqtt_connack_4, http_401, ...). */
  rejected(reason: string): void
}

export const silentMeter: Meter = {
  messageIn: () => {},
  messagesOut: () => {},
  dropped: () => {},
  rejected: () => {},
}
