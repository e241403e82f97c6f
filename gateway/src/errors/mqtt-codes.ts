/** CONNACK return codes of MQTT 3.1.1 (§3.2.2.3). */
export const ConnackCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUsernameOrPassword: 4,
  NotAuthorized: 5,
} as const

export type ConnackCodeValue = (typeof ConnackCode)[keyof typeof ConnackCode]
