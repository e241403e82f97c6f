import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffDelay, DEFAULT_BACKOFF, Reconnector, resolveBackoff } from './backoff.js'

describe('backoff policy', () => {
  it('defaults to min 1 s, max 60 s, factor 2, full jitter, reset after 30 s', () => {
    expect(resolveBackoff()).toEqual({
      minDelayMs: 1000,
      maxDelayMs: 60_000,
      factor: 2,
      jitter: 'full',
      resetAfterMs: 30_000,
    })
  })

  it('grows the cap exponentially up to the maximum', () => {
    const caps = Array.from({ length: 9 }, (_, n) => backoffDelay(DEFAULT_BACKOFF, n, () => 1))
    expect(caps).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000])
    expect(backoffDelay(DEFAULT_BACKOFF, 5000, () => 1)).toBe(60_000)
  })

  it('draws each delay uniformly between 0 and the cap (full jitter)', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 3, () => 0)).toBe(0)
    expect(backoffDelay(DEFAULT_BACKOFF, 3, () => 0.25)).toBe(2000)
    for (let n = 0; n < 12; n++) {
      const cap = Math.min(60_000, 1000 * 2 ** n)
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(DEFAULT_BACKOFF, n, Math.random)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(cap)
      }
    }
    const none = resolveBackoff({ jitter: 'none', minDelayMs: 100, maxDelayMs: 1000, factor: 3 })
    expect([0, 1, 2, 3].map((n) => backoffDelay(none, n, () => 0))).toEqual([100, 300, 900, 1000])
  })

  it('refuses bad settings with the option named', () => {
    expect(() => resolveBackoff({ minDelayMs: 0 })).toThrow(/backoff.minDelayMs/)
    expect(() => resolveBackoff({ maxDelayMs: Number.NaN })).toThrow(/backoff.maxDelayMs/)
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(/backoff.factor/)
    expect(() => resolveBackoff({ resetAfterMs: -1 })).toThrow(/backoff.resetAfterMs/)
    expect(() => resolveBackoff({ minDelayMs: 5000, maxDelayMs: 1000 })).toThrow(/below/)
    expect(() => resolveBackoff({ jitter: 'half' as 'full' })).toThrow(/jitter/)
  })
})

describe('reconnect schedule (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  function schedule(random: () => number = () => 1) {
    const attempts: number[] = []
    const reconnector = new Reconnector(resolveBackoff(), () => attempts.push(Date.now()), random)
    return { reconnector, attempts }
  }

  it('makes each attempt exactly after its delay, growing to the maximum', () => {
    const { reconnector, attempts } = schedule()
    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      const start = Date.now()
      const next = reconnector.lost()
      expect(next.attempt).toBe(i + 1)
      delays.push(next.delayMs)
      vi.advanceTimersByTime(next.delayMs - 1)
      expect(attempts).toHaveLength(i)
      vi.advanceTimersByTime(1)
      expect(attempts).toHaveLength(i + 1)
      expect(attempts[i]).toBe(start + next.delayMs)
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000])
  })

  it('applies the jitter drawn for each attempt', () => {
    const draws = [0.5, 0.1, 0.9]
    const { reconnector } = schedule(() => draws.shift() ?? 0)
    expect(reconnector.lost().delayMs).toBe(500)
    vi.runOnlyPendingTimers()
    expect(reconnector.lost().delayMs).toBe(200)
    vi.runOnlyPendingTimers()
    expect(reconnector.lost().delayMs).toBe(3600)
  })

  it('resets to the first delay only after a connection stayed up for resetAfterMs', () => {
    const { reconnector } = schedule()
    for (let i = 0; i < 4; i++) {
      reconnector.lost()
      vi.runOnlyPendingTimers()
    }
    // Up for just under the stable period: the next delay keeps growing.
    reconnector.connected()
    vi.advanceTimersByTime(29_999)
    expect(reconnector.lost().delayMs).toBe(16_000)
    vi.runOnlyPendingTimers()
    // Up for the whole stable period: back to the first delay.
    reconnector.connected()
    vi.advanceTimersByTime(30_000)
    expect(reconnector.failures).toBe(0)
    expect(reconnector.lost()).toEqual({ attempt: 1, delayMs: 1000 })
  })

  it('waits the maximum after a refused login, however few failures came before', () => {
    const { reconnector, attempts } = schedule(() => 0)
    expect(reconnector.lost(true)).toEqual({ attempt: 1, delayMs: 60_000 })
    vi.advanceTimersByTime(59_999)
    expect(attempts).toHaveLength(0)
    vi.advanceTimersByTime(1)
    expect(attempts).toHaveLength(1)
    expect(reconnector.lost(true).delayMs).toBe(60_000)
  })

  it('cancel() stops the pending attempt and the stable timer', () => {
    const { reconnector, attempts } = schedule()
    reconnector.lost()
    expect(reconnector.waiting).toBe(true)
    reconnector.cancel()
    expect(reconnector.waiting).toBe(false)
    vi.advanceTimersByTime(120_000)
    expect(attempts).toHaveLength(0)
    reconnector.lost()
    reconnector.connected()
    reconnector.cancel()
    vi.advanceTimersByTime(60_000)
    expect(reconnector.failures).toBe(2)
  })
})
