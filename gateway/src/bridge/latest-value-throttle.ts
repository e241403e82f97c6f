interface Slot {
  lastAt: number
  pending: (() => void) | undefined
  timer: NodeJS.Timeout | undefined
}

/**
 * At most one emission per key per interval; what arrives in between replaces what is waiting,
 * so the latest value always goes out (a gauge, not a log). Keys go once they fall quiet.
 */
export class LatestValueThrottle {
  readonly #slots = new Map<string, Slot>()

  offer(key: string, intervalMs: number, emit: () => void, now = Date.now()): void {
    let slot = this.#slots.get(key)
    if (!slot) {
      slot = { lastAt: Number.NEGATIVE_INFINITY, pending: undefined, timer: undefined }
      this.#slots.set(key, slot)
    }
    const wait = slot.lastAt + intervalMs - now
    if (wait <= 0 && !slot.timer) {
      slot.lastAt = now
      emit()
      this.#forgetLater(key, slot, intervalMs)
      return
    }
    slot.pending = emit
    if (slot.timer) return
    const current = slot
    current.timer = setTimeout(
      () => {
        current.timer = undefined
        const next = current.pending
        current.pending = undefined
        current.lastAt = Date.now()
        next?.()
        this.#forgetLater(key, current, intervalMs)
      },
      Math.max(0, wait),
    )
    current.timer.unref()
  }

  /** Drops a key's slot once an interval passes with nothing new for it. */
  #forgetLater(key: string, slot: Slot, intervalMs: number): void {
    setTimeout(() => {
      if (!slot.timer && !slot.pending && this.#slots.get(key) === slot) this.#slots.delete(key)
    }, intervalMs + 1).unref()
  }

  clear(): void {
    for (const slot of this.#slots.values()) if (slot.timer) clearTimeout(slot.timer)
    this.#slots.clear()
  }
}
