import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { parseDuration } from './duration.js'
import { collectTag, parseCount, parsePositiveDuration, timeParser } from './options.js'

describe('collectTag', () => {
  it('splits at the first = and accumulates', () => {
    expect(collectTag('note=a=b', collectTag('site=lab'))).toEqual({ site: 'lab', note: 'a=b' })
    expect(collectTag('empty=')).toEqual({ empty: '' })
  })

  it('refuses a pair without a key', () => {
    for (const bad of ['novalue', '=lab', '']) {
      expect(() => collectTag(bad)).toThrow(new InvalidArgumentError('expected key=value'))
    }
  })
})

describe('parseCount', () => {
  it('accepts whole numbers from 1', () => {
    expect(parseCount('1')).toBe(1)
    expect(parseCount('250')).toBe(250)
  })

  it('refuses zero, negatives, fractions, words and numbers past 2^53', () => {
    for (const bad of ['0', '-1', '2.5', '1e3', 'ten', '', '9007199254740993']) {
      expect(() => parseCount(bad), bad).toThrow('expected a whole number ≥ 1')
    }
  })
})

describe('durations', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect([parseDuration('90'), parseDuration('15m'), parseDuration('2h')]).toEqual([
      90, 900, 7200,
    ])
    expect(parsePositiveDuration('7d')).toBe(604_800)
  })

  it('refuses other units, nothing at all, and lengths whose milliseconds are not exact', () => {
    expect(() => parseDuration('1w')).toThrow('expected a duration like 90s, 15m, 2h or 7d')
    expect(() => parseDuration('99999999999999d')).toThrow('duration is too long')
    expect(() => parsePositiveDuration('0s')).toThrow('expected a duration longer than 0s')
  })
})

describe('timeParser', () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0)
  const parse = timeParser(() => now)

  it('reads a duration as that long before now', () => {
    expect(parse('1h')).toBe(now - 3_600_000)
    expect(parse('30m')).toBe(now - 1_800_000)
  })

  it('reads ISO dates and times, with or without a zone offset', () => {
    expect(parse('2024-04-30')).toBe(Date.UTC(2024, 3, 30))
    expect(parse('2024-04-30T08:15:00Z')).toBe(Date.UTC(2024, 3, 30, 8, 15))
    expect(parse('2024-04-30T10:15:00+02:00')).toBe(Date.UTC(2024, 3, 30, 8, 15))
  })

  it('refuses anything else, naming both forms', () => {
    for (const bad of ['yesterday', '2024-13-45', '2024-05-01T25:00:00Z', '1w', '']) {
      expect(() => parse(bad), bad).toThrow(
        'expected a duration back from now (30m, 1h, 7d) or an ISO time (2024-05-01T12:00:00Z)',
      )
    }
  })
})
