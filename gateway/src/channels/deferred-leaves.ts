interface PendingLeave {
  timer: NodeJS.Timeout
  userId: string
  leave: () => Promise<void>
}

/**
 * Presence departures waiting out their grace period (pusher-protocol §12: 3 s), keyed by
 * app, channel and socket. The same socket coming back as the same user calls its departure off.
 */
export class DeferredLeaves {
  readonly #pending = new Map<string, PendingLeave>()
  readonly #delayMs: number
  readonly #onError: (error: unknown) => void

  constructor(delayMs: number, onError: (error: unknown) => void) {
    this.#delayMs = delayMs
    this.#onError = onError
  }

  /** Runs `leave` after the grace period (at once when it is 0). */
  schedule(
    appId: string,
    channel: string,
    socketId: string,
    userId: string,
    leave: () => Promise<void>,
  ): void {
    if (this.#delayMs <= 0) {
      leave().catch(this.#onError)
      return
    }
    const key = keyOf(appId, channel, socketId)
    const timer = setTimeout(() => {
      this.#pending.delete(key)
      leave().catch(this.#onError)
    }, this.#delayMs)
    timer.unref()
    this.#pending.set(key, { timer, userId, leave })
  }

  /**
   * The socket is joining again. Resolves true when it left as the same user within the grace
   * period (it simply stays a member); a departure as another user is completed first.
   */
  async rejoin(appId: string, channel: string, socketId: string, userId: string): Promise<boolean> {
    const key = keyOf(appId, channel, socketId)
    const pending = this.#pending.get(key)
    if (!pending) return false
    clearTimeout(pending.timer)
    this.#pending.delete(key)
    if (pending.userId === userId) return true
    await pending.leave()
    return false
  }

  /** Drops every pending departure; on shutdown the whole node's state goes anyway. */
  clear(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer)
    this.#pending.clear()
  }
}

function keyOf(appId: string, channel: string, socketId: string): string {
  return `${appId}\u0000${channel}\u0000${socketId}`
}
