/**
 * Reconnect timing: exponential backoff with full jitter and a reset after a stable connection,
 * the model of the AWS IoT device SDK v2 (CRT) (iot-anchors §7.2).
 */
export interface BackoffOptions {
  /** Cap of the first delay, and the base the cap grows from. Default 1000 ms. */
  minDelayMs?: number
  /** Largest delay. Default 60 000 ms. */
  maxDelayMs?: number
  /** Growth of the cap per failed attempt. Default 2. */
  factor?: number
  /**
   * `full` (default): each delay is uniform in [0, cap], so a fleet that lost the gateway at the
   * same moment does not come back at the same moment. `none`: each delay is the cap.
   */
  jitter?: 'full' | 'none'
  /** A connection that stays up this long resets the delays to the first one. Default 30 000 ms. */
  resetAfterMs?: number
}

export type ResolvedBackoff = Required<BackoffOptions>

export const DEFAULT_BACKOFF: ResolvedBackoff = {
  minDelayMs: 1000,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: 'full',
  resetAfterMs: 30_000,
}

export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const resolved = { ...DEFAULT_BACKOFF, ...definedOnly(options) }
  const positive = (name: keyof ResolvedBackoff, min: number) => {
    const value = resolved[name]
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
      throw new TypeError(`backoff.${name} must be a finite number >= ${min}, got ${String(value)}`)
  }
  positive('minDelayMs', 1)
  positive('maxDelayMs', 1)
  positive('factor', 1)
  positive('resetAfterMs', 0)
  if (resolved.maxDelayMs < resolved.minDelayMs)
    throw new TypeError(
      `backoff.maxDelayMs (${resolved.maxDelayMs}) is below backoff.minDelayMs (${resolved.minDelayMs})`,
    )
  if (resolved.jitter !== 'full' && resolved.jitter !== 'none')
    throw new TypeError(`backoff.jitter must be "full" or "none", got ${String(resolved.jitter)}`)
  return resolved
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<T>
}

/** The delay before the `failures`-th retry (0-based): min(max, min * factor^failures), jittered. */
export function backoffDelay(
  policy: ResolvedBackoff,
  failures: number,
  random: () => number,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** failures)
  return policy.jitter === 'full' ? Math.round(random() * cap) : cap
}

export interface ScheduledAttempt {
  /** 1-based number of the attempt that will be made, counted since the last reset. */
  attempt: number
  delayMs: number
}

/**
 * Owns the reconnect schedule (mqtt.js runs with `reconnectPeriod: 0`). `lost()` after every
 * failed attempt or dropped connection schedules the next attempt; `connected()` arms the
 * stable-period timer that resets the delays.
 */
export class Reconnector {
  readonly #policy: ResolvedBackoff
  readonly #random: () => number
  readonly #attempt: () => void
  #failures = 0
  #retry: NodeJS.Timeout | undefined
  #stable: NodeJS.Timeout | undefined

  constructor(policy: ResolvedBackoff, attempt: () => void, random: () => number = Math.random) {
    this.#policy = policy
    this.#attempt = attempt
    this.#random = random
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures
  }

  connected(): void {
    clearTimeout(this.#stable)
    this.#stable = setTimeout(() => {
      this.#failures = 0
    }, this.#policy.resetAfterMs)
  }

  /**
   * Schedules the next attempt. `refused`: the gateway refused the login (CONNACK 1, 2, 4, 5),
   * which another attempt soon cannot fix: wait the longest delay, without jitter toward zero.
   */
  lost(refused = false): ScheduledAttempt {
    clearTimeout(this.#stable)
    clearTimeout(this.#retry)
    const delayMs = refused
      ? this.#policy.maxDelayMs
      : backoffDelay(this.#policy, this.#failures, this.#random)
    this.#failures += 1
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#attempt()
    }, delayMs)
    return { attempt: this.#failures, delayMs }
  }

  /** True while an attempt is scheduled. */
  get waiting(): boolean {
    return this.#retry !== undefined
  }

  cancel(): void {
    clearTimeout(this.#retry)
    clearTimeout(this.#stable)
    this.#retry = undefined
    this.#stable = undefined
  }
}
