/**
 * Presence departures waiting out their grace period (pusher-protocol §12: 3 s), keyed by
 * app, channel and socket. A socket that comes back in time cancels its own departure.
 */
export class DeferredLeaves {
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #delayMs: number

  constructor(delayMs: number) {
    this.#delayMs = delayMs
  }

  /** Runs `leave` after the grace period (at once when it is 0). */
  schedule(appId: string, channel: string, socketId: string, leave: () => void): void {
    if (this.#delayMs <= 0) {
      leave()
      return
    }
    const key = keyOf(appId, channel, socketId)
    const timer = setTimeout(() => {
      this.#timers.delete(key)
      leave()
    }, this.#delayMs)
    timer.unref()
    this.#timers.set(key, timer)
  }

  /** True when a departure was pending and is now called off. */
  cancel(appId: string, channel: string, socketId: string): boolean {
    const key = keyOf(appId, channel, socketId)
    const timer = this.#timers.get(key)
    if (!timer) return false
    clearTimeout(timer)
    this.#timers.delete(key)
    return true
  }

  /** Drops every pending departure; on shutdown the whole node's state goes anyway. */
  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }
}

function keyOf(appId: string, channel: string, socketId: string): string {
  return `${appId}\u0000${channel}\u0000${socketId}`
}
