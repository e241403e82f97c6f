/**
 * The shapes aedes 1.x hands its persistence (aedes-persistence 11). aedes types its `persistence`
 * option as `any`, so these are ours: as loose as aedes is, and no looser than we need.
 */

/** What aedes stores: a publish, a pubrel that replaced one, a retained message, a will. */
export interface PersistedPacket {
  cmd?: string
  topic?: string
  payload?: Buffer | Uint8Array | string
  qos?: number
  retain?: boolean
  dup?: boolean
  messageId?: number | undefined
  brokerId?: string | null | undefined
  brokerCounter?: number
  clientId?: string
  properties?: Record<string, unknown>
  [field: string]: unknown
}

/** aedes passes its `Client`, or `{ id }` / `{ id, brokerId }` literals; only `id` is read. */
export interface PersistenceClient {
  id: string
}

/** One entry of a SUBSCRIBE packet's `subscriptions` (mqtt-packet), as aedes stores it. */
export interface PersistedSubscription {
  topic: string
  qos: number
  rh?: number | undefined
  rap?: boolean | undefined
  nl?: boolean | undefined
  subscriptionIdentifier?: number
}

/** What `subscriptionsByTopic` returns and `outgoingEnqueueCombi` receives. */
export interface TopicSubscription {
  clientId: string
  topic: string
  qos?: number
  rh?: number | undefined
  rap?: boolean | undefined
  nl?: boolean | undefined
}

/** The part of the aedes instance a persistence uses: its id (stamped on wills) and counter. */
export interface PersistenceBroker {
  id: string
  counter: number
}
