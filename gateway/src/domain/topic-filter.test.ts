import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compileFilter,
  filterCovers,
  filterMatches,
  isValidFilter,
  isValidTopicName,
  levelCount,
} from './topic-filter.js'

const level = fc.constantFrom('a', 'b', 'devices', 'd1', '$SYS', '$x', '')
const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((levels) => levels.join('/'))
const filter = fc
  .tuple(
    fc.array(fc.constantFrom('a', 'b', 'devices', 'd1', '$SYS', '', '+'), { maxLength: 4 }),
    fc.boolean(),
  )
  .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/'))
  .filter((f) => f.length > 0)

describe('topic filters (MQTT 3.1.1 §4.7)', () => {
  it('validates filters and topic names', () => {
    for (const good of ['a', 'a/b', '+', '#', 'a/+/c', 'a/#', '/', '+/+', '$SYS/#'])
      expect(isValidFilter(good), good).toBe(true)
    for (const bad of ['', 'a#', 'a/#/b', 'a+', '+a/b', 'a/b#', 'a\u0000b'])
      expect(isValidFilter(bad), bad).toBe(false)
    expect(isValidTopicName('a/b')).toBe(true)
    for (const bad of ['', 'a/+', 'a/#', 'a\u0000']) expect(isValidTopicName(bad), bad).toBe(false)
  })

  it('matches like the specification', () => {
    const cases: Array<[string, string, boolean]> = [
      ['sport/tennis/player1/#', 'sport/tennis/player1', true], // [MQTT-4.7.1-2] parent level
      ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
      ['sport/#', 'sport', true],
      ['sport/tennis/+', 'sport/tennis/player1', true],
      ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
      ['sport/+', 'sport/', true], // + matches an empty level
      ['+/+', '/finance', true],
      ['/+', '/finance', true],
      ['+', '/finance', false],
      ['#', '$SYS/broker', false], // [MQTT-4.7.2-1]
      ['+/monitor/Clients', '$SYS/monitor/Clients', false],
      ['$SYS/#', '$SYS/monitor/Clients', true],
      ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
      ['a/b', 'a/b/c', false],
    ]
    for (const [filter, topic, expected] of cases)
      expect(filterMatches(filter, topic), `${filter} ~ ${topic}`).toBe(expected)
  })

  it('decides whether one filter covers every topic of another', () => {
    const cases: Array<[string, string, boolean]> = [
      ['devices/d1/commands/#', 'devices/d1/commands/#', true],
      ['devices/d1/commands/#', 'devices/d1/commands/+', true],
      ['devices/d1/commands/#', 'devices/d1/commands', true],
      ['devices/d1/commands/#', 'devices/d1/commands/reboot/now', true],
      ['devices/d1/commands/#', 'devices/d1/#', false],
      ['devices/d1/commands/#', 'devices/+/commands/#', false],
      ['devices/+/commands/#', 'devices/d1/commands/x', true],
      ['devices/d1/commands/+', 'devices/d1/commands/#', false],
      ['devices/d1/commands/+', 'devices/d1/commands/a/b', false],
      ['#', '$SYS/#', false],
      ['#', 'anything/+', true],
      ['$SYS/#', '$SYS/broker/+', true],
      ['a/+', 'a', false],
    ]
    for (const [outer, inner, expected] of cases)
      expect(filterCovers(outer, inner), `${outer} ⊇ ${inner}`).toBe(expected)
  })

  it('compiles a filter into a matcher that agrees with filterMatches on every topic', () => {
    fc.assert(
      fc.property(filter, topic, (f, t) => compileFilter(f)(t) === filterMatches(f, t)),
      { numRuns: 5000 },
    )
    // The shapes with their own fast path, at their edges.
    expect(compileFilter('devices/d1/#')('devices/d1')).toBe(true)
    expect(compileFilter('devices/d1/#')('devices/d1/')).toBe(true)
    expect(compileFilter('devices/d1/#')('devices/d10/x')).toBe(false)
    expect(compileFilter('#')('$SYS/x')).toBe(false)
    expect(compileFilter('a/b')('a/b/')).toBe(false)
  })

  it('counts topic levels without splitting', () => {
    for (const t of ['', 'a', 'a/b', '/', 'a//b/', '$SYS/#'])
      expect(levelCount(t), t).toBe(t.split('/').length)
  })
})
