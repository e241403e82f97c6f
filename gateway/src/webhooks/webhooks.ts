import type { Config } from '../config/schema.js'
import type { App } from '../domain/app.js'
import type { LifecycleEvent } from '../domain/lifecycle.js'
import type { Logger } from '../log.js'
import type { WebhookQueue } from '../store/webhook-queue.js'
import { WebhookDispatcher } from './dispatcher.js'
import { WebhookSender } from './sender.js'

/** POSTs in flight at once, over all apps and URLs. */
const CONCURRENCY = 4
const BACKOFF_BASE_MS = 1000
const BACKOFF_CAP_MS = 60_000

export interface WebhooksOptions {
  store: { readonly webhookQueue: WebhookQueue }
  log: Logger
  config: Readonly<Config['webhooks']>
  /** The app as it is now: its targets when an event is routed, key and secret when sent. */
  findApp(appId: string): App | undefined
  /** First retry delay (doubling up to 60 s); 1 s unless a test shortens it. */
  backoffBaseMs?: number
}

export interface WebhookStats {
  /** POSTs waiting in the store, including ones waiting for a retry. */
  queued: number
  /** Acknowledged with a 2xx since start. */
  delivered: number
  /** Given up since start: still failing after `webhooks.retryFor`, or their app is gone. */
  failed: number
  /** Pushed out of a full queue (`webhooks.maxQueued`) since start, oldest first. */
  dropped: number
}

export interface Webhooks {
  /** Give it every lifecycle event (channels and broker); never throws. */
  onLifecycle(event: LifecycleEvent): void
  /** Starts delivery, beginning with POSTs left in the store by a previous run. */
  start(): void
  /** Queues what is held back, stops delivery and waits for POSTs in flight; rows stay stored. */
  close(): Promise<void>
  stats(): WebhookStats
}

/** Webhooks (pusher-protocol §12): lifecycle events in, signed and retried POSTs out. */
export function createWebhooks(options: WebhooksOptions): Webhooks {
  const { config, log, findApp } = options
  const queue = options.store.webhookQueue
  let dropped = 0
  const sender = new WebhookSender({
    queue,
    findApp,
    log,
    timeoutMs: config.timeout * 1000,
    backoffBaseMs: options.backoffBaseMs ?? BACKOFF_BASE_MS,
    backoffCapMs: BACKOFF_CAP_MS,
    concurrency: CONCURRENCY,
  })
  const dispatcher = new WebhookDispatcher({
    findApp,
    log,
    delayMs: config.delay * 1000,
    batchWindowMs: config.batchWindow,
    enqueue(appId, url, body) {
      const now = Date.now()
      queue.enqueue({
        appId,
        url,
        body,
        nextAttemptAt: now,
        expiresAt: now + config.retryFor * 1000,
      })
      const trimmed = queue.trim(config.maxQueued)
      if (trimmed > 0) {
        dropped += trimmed
        log.warn(
          { dropped: trimmed, maxQueued: config.maxQueued },
          'webhook queue full (webhooks.maxQueued): dropped the oldest POSTs',
        )
      }
      sender.wake()
    },
  })
  let closing: Promise<void> | undefined

  return {
    onLifecycle(event) {
      try {
        dispatcher.dispatch(event)
      } catch (error) {
        log.error({ err: error, lifecycle: event.name }, 'webhook dispatch failed')
      }
    },
    start: () => sender.start(),
    close() {
      closing ??= (async () => {
        dispatcher.close()
        await sender.close()
      })()
      return closing
    },
    stats: () => ({
      queued: queue.count(),
      delivered: sender.delivered,
      failed: sender.failed,
      dropped,
    }),
  }
}
