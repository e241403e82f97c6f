import { describe, expect, it } from 'vitest'
import { commandFilter, commandTopic, eventTopic } from './topics.js'

describe('topic helpers', () => {
  it('build the default contract topics', () => {
    expect(eventTopic('thermo-1', 'temperature')).toBe('devices/thermo-1/events/temperature')
    expect(commandTopic('thermo-1', 'reboot')).toBe('devices/thermo-1/commands/reboot')
    expect(commandFilter('thermo-1')).toBe('devices/thermo-1/commands/+')
  })

  it('refuse values that would change the topic structure', () => {
    for (const bad of ['', 'a/b', 'a+', '#', 'nul\u0000']) {
      expect(() => eventTopic('thermo-1', bad)).toThrow(TypeError)
      expect(() => commandTopic(bad, 'x')).toThrow(/device id/)
    }
  })
})
