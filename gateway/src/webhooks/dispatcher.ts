import type { App, WebhookTarget } from '../domain/app.js'
import type { LifecycleEvent } from '../domain/lifecycle.js'
import type { Logger } from '../log.js'
import { DEVICE_EVENTS, toWebhookEvent, type WebhookEvent, webhookBody } from './webhook-events.js'

/** One POST carries at most this many events; a fuller batch goes out before its window ends. */
export const MAX_EVENTS_PER_POST = 100

export interface DispatcherOptions {
  /** The app as it is now (targets may change while events wait). */
  findApp(appId: string): App | undefined
  /** Milliseconds channel_vacated is held (`webhooks.delay`); also the cache_miss window. */
  delayMs: number
  /** Milliseconds events gather per app and URL before one POST (`webhooks.batchWindow`). */
  batchWindowMs: number
  /** Stores one POST for delivery. */
  enqueue(appId: string, url: string, body: string): void
  log: Logger
}

interface Batch {
  appId: string
  url: string
  events: WebhookEvent[]
  timer: NodeJS.Timeout
}

interface HeldVacate {
  event: LifecycleEvent
  timer: NodeJS.Timeout
}

/**
 * Whether a target wants an event: its `events` list; without one, everything but the device
 * extras, and subscription_count only when the app counts subscriptions (it fires on every
 * subscribe and unsubscribe).
 */
export function targetAccepts(
  target: WebhookTarget,
  name: string,
  app: Pick<App, 'subscriptionCount'>,
): boolean {
  if (target.events) return target.events.includes(name)
  if (name === 'subscription_count') return app.subscriptionCount
  return !DEVICE_EVENTS.has(name)
}

/**
 * Turns lifecycle facts into webhook POST bodies per app and target URL:
 * - channel_vacated waits `delayMs`; a channel_occupied of the same app and channel within it
 *   cancels both (member_* arrive already settled by the channel layer's presence grace period);
 * - after a cache_miss of a channel, further misses of it are dropped for max(delayMs,
 *   batchWindowMs): one webhook per burst of subscribers finding the cache empty;
 * - with a batch window, events for one app and URL gather into one POST (at most
 *   MAX_EVENTS_PER_POST), otherwise each event is its own POST.
 */
export class WebhookDispatcher {
  readonly #options: DispatcherOptions
  readonly #vacates = new Map<string, HeldVacate>()
  readonly #misses = new Map<string, NodeJS.Timeout>()
  readonly #batches = new Map<string, Batch>()
  #closed = false

  constructor(options: DispatcherOptions) {
    this.#options = options
  }

  dispatch(event: LifecycleEvent): void {
    if (this.#closed) return
    switch (event.name) {
      case 'channel_vacated':
        this.#holdVacate(event)
        return
      case 'channel_occupied':
        if (this.#cancelVacate(event.appId, event.channel)) return
        break
      case 'cache_miss':
        if (!this.#firstMissOfBurst(event.appId, event.channel)) return
        break
    }
    this.#route(event)
  }

  /** Sends what is held (vacates, open batches) to the queue and stops taking events. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const [key, held] of this.#vacates) {
      clearTimeout(held.timer)
      this.#vacates.delete(key)
      this.#route(held.event)
    }
    for (const timer of this.#misses.values()) clearTimeout(timer)
    this.#misses.clear()
    for (const batch of [...this.#batches.values()]) this.#flush(batch)
  }

  #holdVacate(event: Extract<LifecycleEvent, { name: 'channel_vacated' }>): void {
    const { delayMs } = this.#options
    if (delayMs <= 0) {
      this.#route(event)
      return
    }
    const key = keyOf(event.appId, event.channel)
    const previous = this.#vacates.get(key)
    if (previous) clearTimeout(previous.timer)
    const timer = setTimeout(() => {
      this.#vacates.delete(key)
      this.#route(event)
    }, delayMs)
    timer.unref()
    this.#vacates.set(key, { event, timer })
  }

  #cancelVacate(appId: string, channel: string): boolean {
    const key = keyOf(appId, channel)
    const held = this.#vacates.get(key)
    if (!held) return false
    clearTimeout(held.timer)
    this.#vacates.delete(key)
    return true
  }

  #firstMissOfBurst(appId: string, channel: string): boolean {
    const windowMs = Math.max(this.#options.delayMs, this.#options.batchWindowMs)
    if (windowMs <= 0) return true
    const key = keyOf(appId, channel)
    if (this.#misses.has(key)) return false
    const timer = setTimeout(() => this.#misses.delete(key), windowMs)
    timer.unref()
    this.#misses.set(key, timer)
    return true
  }

  #route(event: LifecycleEvent): void {
    const app = this.#options.findApp(event.appId)
    if (!app || app.webhooks.length === 0) return
    let payload: WebhookEvent | undefined
    for (const target of app.webhooks) {
      if (!targetAccepts(target, event.name, app)) continue
      payload ??= toWebhookEvent(event)
      this.#add(app.id, target.url, payload)
    }
  }

  #add(appId: string, url: string, event: WebhookEvent): void {
    const { batchWindowMs } = this.#options
    if (batchWindowMs <= 0) {
      this.#enqueue(appId, url, [event])
      return
    }
    const key = keyOf(appId, url)
    let batch = this.#batches.get(key)
    if (!batch) {
      const timer = setTimeout(() => {
        if (batch) this.#flush(batch)
      }, batchWindowMs)
      timer.unref()
      batch = { appId, url, events: [], timer }
      this.#batches.set(key, batch)
    }
    batch.events.push(event)
    if (batch.events.length >= MAX_EVENTS_PER_POST) this.#flush(batch)
  }

  #flush(batch: Batch): void {
    clearTimeout(batch.timer)
    const key = keyOf(batch.appId, batch.url)
    if (this.#batches.get(key) === batch) this.#batches.delete(key)
    if (batch.events.length > 0) this.#enqueue(batch.appId, batch.url, batch.events)
  }

  #enqueue(appId: string, url: string, events: WebhookEvent[]): void {
    try {
      this.#options.enqueue(appId, url, webhookBody(Date.now(), events))
    } catch (error) {
      this.#options.log.error(
        { err: error, appId, events: events.length },
        'webhook enqueue failed',
      )
    }
  }
}

function keyOf(appId: string, name: string): string {
  return `${appId}\u0000${name}`
}
