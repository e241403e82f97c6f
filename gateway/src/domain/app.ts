export interface WebhookTarget {
  url: string
  events?: string[] | undefined
}

/** An app as the edges use it; the config schema (config/schema.ts) produces the same shape. */
export interface App {
  id: string
  key: string
  secret: string
  enabled: boolean
  clientEvents: boolean
  webhooks: WebhookTarget[]
  /** WebSocket connections this app may hold on one node; null for no limit. */
  maxConnections: number | null
  /** Browser origins allowed to connect (`https://*.example.com`, `*`); empty for any. */
  allowedOrigins: string[]
  /** Seconds a socket has to sign in; 0 for no rule. */
  userAuthenticationTimeout: number
  /** Whether subscribers get pusher_internal:subscription_count. */
  subscriptionCount: boolean
  /** REST trigger budget (events per second); null for no limit. */
  maxBackendEventsPerSecond: number | null
  /** REST read budget (GET requests per second); null for no limit. */
  maxReadRequestsPerSecond: number | null
  /** Messages per UTC day; null for no quota. */
  maxMessagesPerDay: number | null
}
