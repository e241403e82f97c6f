import { InvalidArgumentError } from 'commander'
import { parseDuration } from './duration.js'

/** `--tag key=value`, repeatable; the first `=` separates key from value. */
export function collectTag(value: string, previous: Record<string, string> = {}) {
  const at = value.indexOf('=')
  if (at <= 0) throw new InvalidArgumentError('expected key=value')
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) }
}

/** A repeatable option that must not be empty (`--grant`). */
export function collectNonEmpty(value: string, previous: string[] = []): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('expected a non-empty value')
  return [...previous, value]
}

export function parseCount(value: string): number {
  const count = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new InvalidArgumentError('expected a whole number ≥ 1')
  }
  return count
}

/** A duration that must be longer than nothing (`--ttl`). */
export function parsePositiveDuration(value: string): number {
  const seconds = parseDuration(value)
  if (seconds <= 0) throw new InvalidArgumentError('expected a duration longer than 0s')
  return seconds
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/

/**
 * `--since`/`--until`: a duration back from now (`1h`, `7d`) or an ISO time
 * (`2024-05-01`, `2024-05-01T12:00:00Z`) -> epoch ms.
 */
export function timeParser(now: () => number = Date.now): (value: string) => number {
  return (value) => {
    const text = value.trim()
    if (ISO_DATE.test(text)) {
      const at = Date.parse(text)
      if (Number.isFinite(at)) return at
    } else if (/^\d+[smhd]?$/.test(text)) {
      return now() - parseDuration(text) * 1000
    }
    throw new InvalidArgumentError(
      'expected a duration back from now (30m, 1h, 7d) or an ISO time (2024-05-01T12:00:00Z)',
    )
  }
}
