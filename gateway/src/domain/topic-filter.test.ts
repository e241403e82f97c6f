import { describe, expect, it } from 'vitest'
import { filterCovers, filterMatches, isValidFilter, isValidTopicName } from './topic-filter.js'

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
})
