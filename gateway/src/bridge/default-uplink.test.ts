import { describe, expect, it } from 'vitest'
import { mapDefaultUplink } from './default-uplink.js'
import { payloadToEventData } from './payload.js'

describe('payloadToEventData', () => {
  it('keeps JSON bytes as they are', () => {
    expect(payloadToEventData(Buffer.from('{"c":21.5}'))).toBe('{"c":21.5}')
    expect(payloadToEventData(Buffer.from('[1,2]'))).toBe('[1,2]')
    expect(payloadToEventData(Buffer.from('42'))).toBe('42')
  })

  it('turns other text into a JSON string', () => {
    expect(payloadToEventData(Buffer.from('hello world'))).toBe('"hello world"')
    expect(payloadToEventData(Buffer.from('{broken'))).toBe('"{broken"')
    expect(payloadToEventData(Buffer.from(''))).toBe('""')
    expect(JSON.parse(payloadToEventData(Buffer.from('  ')))).toBe('  ')
  })

  it('wraps binary as base64', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80])
    expect(JSON.parse(payloadToEventData(bytes))).toEqual({ base64: bytes.toString('base64') })
  })
})

describe('mapDefaultUplink', () => {
  it('maps the device events topic to its private channel', () => {
    expect(mapDefaultUplink('d1', 'devices/d1/events/temp', Buffer.from('{"c":1}'))).toEqual({
      channel: 'private-device-d1',
      event: 'temp',
      data: '{"c":1}',
    })
  })

  it('ignores other topics, other devices and reserved event names', () => {
    const payload = Buffer.from('{}')
    for (const topic of [
      'devices/d2/events/temp',
      'devices/d1/events',
      'devices/d1/events/a/b',
      'devices/d1/telemetry/temp',
      'devices/d1/events/pusher:subscribe',
      'devices/d1/events/pusher_internal:member_added',
      'other/d1/events/temp',
    ]) {
      expect(mapDefaultUplink('d1', topic, payload), topic).toBeUndefined()
    }
  })
})
