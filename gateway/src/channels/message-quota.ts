/**
 * Messages per app per UTC day (the seed document's plans are priced by messages per day).
 * Fleetcast counts one message per event per channel it is published to, from any source
 * (REST, devices, client events). Kept per node until the cluster adapter shares it.
 */
export class MessageQuota {
  readonly #used = new Map<string, { day: number; count: number }>()

  /** True when the app has no quota or still has `count` messages left today. */
  allows(appId: string, limit: number | null, count: number, nowMs: number): boolean {
    if (limit === null) return true
    return this.#today(appId, nowMs).count + count <= limit
  }

  record(appId: string, count: number, nowMs: number): void {
    this.#today(appId, nowMs).count += count
  }

  used(appId: string, nowMs: number): number {
    return this.#today(appId, nowMs).count
  }

  #today(appId: string, nowMs: number): { day: number; count: number } {
    const day = Math.floor(nowMs / 86_400_000)
    let entry = this.#used.get(appId)
    if (!entry || entry.day !== day) {
      entry = { day, count: 0 }
      this.#used.set(appId, entry)
    }
    return entry
  }
}
