/**
 * Pusher error and close codes, chosen by what pusher-js does with them
 * (pusher-protocol §4; pusher-js Protocol.getCloseAction):
 *   4000-4099  refused: the client stays disconnected and does not retry
 *   4100-4199  back off, then reconnect
 *   4200-4299  reconnect at once
 *   4300-4399  message-only errors: never used as a close code, pusher-js would stop retrying
 */
export const PusherCode = {
  /** App only accepts TLS; pusher-js switches to wss and retries. */
  TlsOnly: 4000,
  AppNotFound: 4001,
  AppDisabled: 4003,
  OverConnectionQuota: 4004,
  PathNotFound: 4005,
  InvalidVersionFormat: 4006,
  UnsupportedProtocol: 4007,
  NoProtocol: 4008,
  Unauthorized: 4009,
  OverCapacity: 4100,
  /** The client reads too slowly: its send buffer passed pusher.maxBufferedBytes. */
  SlowConsumer: 4101,
  /** Server going away (shutdown, rebalance); clients reconnect immediately. */
  Reconnect: 4200,
  PongTimeout: 4201,
  Inactivity: 4202,
  /** A frame the server could not understand; the socket stays open. */
  InvalidMessage: 4300,
  ClientEventRejected: 4301,
} as const

export type PusherCodeValue = (typeof PusherCode)[keyof typeof PusherCode]

/** True when pusher-js would treat this code, used to close a socket, as a permanent refusal. */
export function isMessageOnlyCode(code: number): boolean {
  return code >= 4300 && code <= 4399
}
