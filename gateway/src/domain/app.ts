import type { WebhookConfig } from '../config/schema.js'

export interface App {
  id: string
  key: string
  secret: string
  enabled: boolean
  clientEvents: boolean
  webhooks: WebhookConfig[]
}
