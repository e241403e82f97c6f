/**
 * Fixed one-second windows per app (soketi's local rate limiter does the same). `take` either
 * books `cost` units or says how many seconds to wait.
 */
export class PerSecondBudget {
  readonly #windows = new Map<string, { second: number; used: number }>()

  take(
    appId: string,
    limit: number | null,
    cost: number,
    nowMs: number,
  ): { ok: true } | { ok: false; retryAfter: number } {
    if (limit === null) return { ok: true }
    const second = Math.floor(nowMs / 1000)
    let window = this.#windows.get(appId)
    if (!window || window.second !== second) {
      window = { second, used: 0 }
      this.#windows.set(appId, window)
    }
    if (window.used + cost > limit) return { ok: false, retryAfter: 1 }
    window.used += cost
    return { ok: true }
  }
}
