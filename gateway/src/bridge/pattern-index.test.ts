import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { filterMatches } from '../domain/topic-filter.js'
import { PatternIndex } from './pattern-index.js'
import { captures, parseTopicPattern, type TopicPattern } from './topic-pattern.js'

function pattern(source: string): TopicPattern {
  const parsed = parseTopicPattern(source)
  if (typeof parsed === 'string') throw new Error(parsed)
  return parsed
}

const level = fc.constantFrom('a', 'b', 'devices', 'd1', '$SYS', '')
const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((levels) => levels.join('/'))
const filterLevel = fc.constantFrom('a', 'b', 'devices', 'd1', '$SYS', '', '+')
const filter = fc
  .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, rest]) => [...levels, ...(rest ? ['#'] : [])].join('/'))
  .filter((f) => f.length > 0)

describe('PatternIndex', () => {
  it('matches exactly the patterns the reference matcher matches, in rule order', () => {
    fc.assert(
      fc.property(fc.array(filter, { minLength: 1, maxLength: 12 }), topic, (filters, t) => {
        const index = new PatternIndex<number>()
        for (const [i, f] of filters.entries()) index.add(pattern(f), i)
        const expected = filters
          .map((f, i) => [f, i] as const)
          .filter(([f]) => filterMatches(f, t))
          .map(([, i]) => i)
        expect(index.match(t)).toEqual(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('extracts named captures; #name joins the rest of the topic', () => {
    const p = pattern('devices/+deviceId/logs/#path')
    expect(captures(p, 'devices/d1/logs/a/b')).toEqual({ deviceId: 'd1', path: 'a/b' })
    expect(captures(pattern('+a/+/c'), 'x/y/c')).toEqual({ a: 'x' })
  })

  it('refuses invalid patterns with a reason', () => {
    expect(parseTopicPattern('a/#x/b')).toMatch(/not a valid MQTT filter/)
    expect(parseTopicPattern('a/+x-y')).toMatch(/wildcard names/)
    expect(parseTopicPattern('+id/+id')).toMatch(/twice/)
    expect(parseTopicPattern('a+/b')).toMatch(/not a valid MQTT filter/)
  })
})
