import { describe, expect, it } from 'vitest'
import {
  ackTopic,
  commandFilter,
  commandTopic,
  eventTopic,
  isTopicLevel,
  statusTopic,
} from './topics.js'

describe('topic helpers', () => {
  it('build the default contract topics', () => {
    expect(eventTopic('thermo-1', 'temperature')).toBe('devices/thermo-1/events/temperature')
    expect(commandTopic('thermo-1', 'reboot')).toBe('devices/thermo-1/commands/reboot')
    expect(commandFilter('thermo-1')).toBe('devices/thermo-1/commands/+')
    expect(ackTopic('thermo-1', 'c-1')).toBe('devices/thermo-1/acks/c-1')
    expect(statusTopic('thermo-1')).toBe('devices/thermo-1/status')
  })

  it('refuse values that would change the topic structure', () => {
    for (const bad of ['', 'a/b', 'a+', '#', 'nul\u0000']) {
      expect(() => eventTopic('thermo-1', bad)).toThrow(TypeError)
      expect(() => commandTopic(bad, 'x')).toThrow(/device id/)
      expect(() => ackTopic('thermo-1', bad)).toThrow(/command id/)
      expect(() => statusTopic(bad)).toThrow(/device id/)
      expect(isTopicLevel(bad)).toBe(false)
    }
    expect(isTopicLevel(42)).toBe(false)
    expect(isTopicLevel('ok-level')).toBe(true)
  })
})
