import { InvalidArgumentError } from 'commander'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `90`, `90s`, `15m`, `2h`, `7d` -> seconds; anything else is a usage error naming the format. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim())
  if (!match) throw new InvalidArgumentError('expected a duration like 90s, 15m, 2h or 7d')
  const seconds = Number(match[1]) * (UNITS[match[2] || 's'] ?? 1)
  // Milliseconds of it must still be exact: expiry times are epoch ms.
  if (!Number.isSafeInteger(seconds * 1000)) throw new InvalidArgumentError('duration is too long')
  return seconds
}
