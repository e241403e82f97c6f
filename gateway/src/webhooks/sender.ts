import type { App } from '../domain/app.js'
import type { Logger } from '../log.js'
import type { QueuedWebhook, WebhookQueue } from '../store/webhook-queue.js'
import { signWebhook } from './signature.js'

export interface SenderOptions {
  queue: WebhookQueue
  /** The app as it is now: its key and current secret go into the headers. */
  findApp(appId: string): App | undefined
  log: Logger
  /** Milliseconds a receiver has to answer (`webhooks.timeout`). */
  timeoutMs: number
  /** First retry delay; each further one doubles, up to `backoffCapMs`. */
  backoffBaseMs: number
  backoffCapMs: number
  /** POSTs in flight at once. */
  concurrency: number
}

/** Extra time a leased row waits past the POST timeout before another attempt may take it. */
const LEASE_MARGIN_MS = 1000
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Delivers queued webhook POSTs: a 2xx removes the row; a non-2xx answer, a timeout or a
 * connection error reschedules it with exponential backoff until it expires, then it is dropped
 * and counted as failed. It sleeps on one unref'd timer set to the next due row and is woken by
 * `wake()` when something is queued.
 */
export class WebhookSender {
  readonly #options: SenderOptions
  readonly #inFlight = new Map<number, Promise<void>>()
  #timer: NodeJS.Timeout | undefined
  #running = false
  #wakeQueued = false
  delivered = 0
  failed = 0

  constructor(options: SenderOptions) {
    this.#options = options
  }

  /** Starts sending, beginning with rows left by a previous run. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#pump()
  }

  /** Something was queued: send it if a slot is free (coalesced per tick). */
  wake(): void {
    if (!this.#running || this.#wakeQueued) return
    this.#wakeQueued = true
    queueMicrotask(() => {
      this.#wakeQueued = false
      this.#pump()
    })
  }

  /** Stops taking rows and waits for POSTs in flight (each bounded by the timeout). */
  async close(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    await Promise.allSettled([...this.#inFlight.values()])
  }

  #pump(): void {
    if (!this.#running) return
    const { queue, concurrency, timeoutMs } = this.#options
    try {
      const free = concurrency - this.#inFlight.size
      if (free > 0) {
        const now = Date.now()
        const leaseUntil = now + timeoutMs + LEASE_MARGIN_MS
        for (const row of queue.due(now, free + this.#inFlight.size)) {
          // A row is only due while in flight if its lease ran out first: extend it.
          if (this.#inFlight.has(row.id)) {
            queue.lease(row.id, leaseUntil)
            continue
          }
          if (this.#inFlight.size >= concurrency) break
          queue.lease(row.id, leaseUntil)
          this.#track(row)
        }
      }
      this.#arm()
    } catch (error) {
      this.#options.log.error({ err: error }, 'webhook queue read failed')
    }
  }

  /** One timer, at the next due row, unless every slot is busy (a finishing POST pumps). */
  #arm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#inFlight.size >= this.#options.concurrency) return
    const at = this.#options.queue.nextAttemptAt()
    if (at === undefined) return
    const delay = Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#pump()
    }, delay)
    this.#timer.unref()
  }

  #track(row: QueuedWebhook): void {
    const attempt = this.#attempt(row)
      .catch((error: unknown) =>
        this.#options.log.error({ err: error, url: safeUrl(row.url) }, 'webhook attempt failed'),
      )
      .finally(() => {
        this.#inFlight.delete(row.id)
        this.#pump()
      })
    this.#inFlight.set(row.id, attempt)
  }

  async #attempt(row: QueuedWebhook): Promise<void> {
    const { queue, findApp, timeoutMs, log } = this.#options
    const app = findApp(row.appId)
    if (!app) {
      queue.remove(row.id)
      this.failed++
      log.warn({ appId: row.appId, url: safeUrl(row.url) }, 'webhook dropped: its app is gone')
      return
    }
    const error = await post(row, app, timeoutMs)
    if (error === undefined) {
      queue.remove(row.id)
      this.delivered++
      return
    }
    this.#retryOrDrop(row, error)
  }

  #retryOrDrop(row: QueuedWebhook, error: string): void {
    const { queue, log, backoffBaseMs, backoffCapMs } = this.#options
    const now = Date.now()
    const attempts = row.attempts + 1
    const context = { appId: row.appId, url: safeUrl(row.url), attempts, error }
    if (now >= row.expiresAt) {
      queue.remove(row.id)
      this.failed++
      log.warn(context, 'webhook dropped: still failing after webhooks.retryFor')
      return
    }
    const backoff = Math.min(backoffCapMs, backoffBaseMs * 2 ** Math.min(attempts - 1, 30))
    queue.reschedule(row.id, Math.min(now + backoff, row.expiresAt), error)
    log.debug({ ...context, retryInMs: backoff }, 'webhook attempt failed; retrying')
  }
}

/** One POST; resolves with undefined on a 2xx, else with why it failed. */
async function post(row: QueuedWebhook, app: App, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await fetch(row.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Pusher-Key': app.key,
        'X-Pusher-Signature': signWebhook(app.secret, row.body),
      },
      body: row.body,
      // A redirect is an answer that is not a 2xx, not an invitation to re-POST elsewhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    // The answer's body is not used; cancelling frees the connection.
    await response.body?.cancel().catch(() => undefined)
    return response.status >= 200 && response.status < 300 ? undefined : `HTTP ${response.status}`
  } catch (error) {
    return describeFailure(error, timeoutMs)
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s (webhooks.timeout)`
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error)
}

/** The URL without credentials, query or fragment, which may carry tokens. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return '[unparsable url]'
  }
}
