import { describe, expect, it } from 'vitest'
import { payloadToEventData } from './payload.js'
import {
  compileUplinkRules,
  DEFAULT_UPLINK,
  type UplinkDevice,
  type UplinkRuleConfig,
  UplinkRules,
} from './uplink-rules.js'

const device = { deviceId: 'd1', name: 'Boiler', tags: { site: 'lab' } }

function rules(
  configs: Array<Partial<UplinkRuleConfig> & Pick<UplinkRuleConfig, 'match' | 'channel' | 'event'>>,
): UplinkRules {
  const full = configs.map(
    (c, i) =>
      ({
        name: `r${i}`,
        payload: 'auto',
        wrap: false,
        throttle: 0,
        continue: false,
        ...c,
      }) as UplinkRuleConfig,
  )
  const { rules: compiled, problems } = compileUplinkRules(full)
  expect(problems).toEqual([])
  return new UplinkRules(compiled)
}

const self = '$' + '{deviceId}'

describe('payloadToEventData', () => {
  it('keeps JSON, turns text into a JSON string and binary into base64 in auto mode', () => {
    expect(payloadToEventData(Buffer.from('{"c":21.5}'))).toBe('{"c":21.5}')
    expect(payloadToEventData(Buffer.from('42'))).toBe('42')
    expect(payloadToEventData(Buffer.from('door opened'))).toBe('"door opened"')
    expect(payloadToEventData(Buffer.from(''))).toBe('""')
    const bytes = Buffer.from([0xff, 0x00, 0xfe])
    expect(JSON.parse(payloadToEventData(bytes) ?? '')).toEqual({
      base64: bytes.toString('base64'),
    })
  })

  it('forces a mode, refusing payloads that are not of its kind', () => {
    expect(payloadToEventData(Buffer.from('{"a":1}'), 'text')).toBe('"{\\"a\\":1}"')
    expect(payloadToEventData(Buffer.from('abc'), 'base64')).toBe('{"base64":"YWJj"}')
    expect(payloadToEventData(Buffer.from('not json'), 'json')).toBeUndefined()
    expect(payloadToEventData(Buffer.from([0xff]), 'text')).toBeUndefined()
  })
})

describe('uplink rules', () => {
  it('reproduces the default topic contract', () => {
    const { rules: compiled } = compileUplinkRules(DEFAULT_UPLINK)
    const set = new UplinkRules(compiled)
    expect(set.map(device, 'devices/d1/events/temp', Buffer.from('{"c":1}'), 0).events).toEqual([
      {
        rule: 'device-events',
        channel: 'private-device-d1',
        event: 'temp',
        data: '{"c":1}',
        throttleMs: 0,
      },
    ])
    for (const topic of [
      'devices/d2/events/temp',
      'devices/d1/events',
      'devices/d1/events/a/b',
      'devices/d1/telemetry/t',
    ]) {
      expect(set.map(device, topic, Buffer.from('{}'), 0).events, topic).toEqual([])
    }
    expect(
      set.map(device, 'devices/d1/events/pusher:subscribe', Buffer.from('{}'), 0).dropped,
    ).toHaveLength(1)
  })

  it('renders captures and device fields, wraps, and stops at the first match unless told to continue', () => {
    const set = rules([
      {
        match: 'devices/+deviceId/telemetry/+metric',
        channel: `private-site-\${device.tags.site}`,
        event: 'telemetry.${metric}',
        wrap: true,
        continue: true,
      },
      { match: 'devices/+deviceId/#rest', channel: `private-device-${self}`, event: 'raw' },
      { match: 'devices/+deviceId/#rest', channel: 'never', event: 'never' },
    ])
    const out = set.map(device, 'devices/d1/telemetry/temp', Buffer.from('21.5'), 1234)
    expect(out.events.map((e) => [e.channel, e.event])).toEqual([
      ['private-site-lab', 'telemetry.temp'],
      ['private-device-d1', 'raw'],
    ])
    expect(JSON.parse(out.events[0]?.data ?? '')).toEqual({
      deviceId: 'd1',
      topic: 'devices/d1/telemetry/temp',
      receivedAt: 1234,
      data: 21.5,
    })
  })

  it('maps each device’s topics by its own fields, and again after many other topics', () => {
    const set = rules([
      {
        match: 'devices/+deviceId/t/+n',
        channel: `private-site-\${device.tags.site}`,
        event: 'n${n}',
      },
    ])
    const other = { deviceId: 'd2', name: null, tags: { site: 'farm' } }
    const payload = Buffer.from('{"v":1}')
    const routed = (who: UplinkDevice, topic: string, body = payload) =>
      set.map(who, topic, body, 0).events.map((e) => [e.channel, e.event, e.data])
    for (let round = 0; round < 2; round++) {
      expect(routed(device, 'devices/d1/t/1')).toEqual([['private-site-lab', 'n1', '{"v":1}']])
      expect(routed(other, 'devices/d2/t/1')).toEqual([['private-site-farm', 'n1', '{"v":1}']])
    }
    // The payload is read on every publish, whatever was mapped before.
    expect(routed(device, 'devices/d1/t/1', Buffer.from('hi'))).toEqual([
      ['private-site-lab', 'n1', '"hi"'],
    ])
    // More topics than a device keeps routes for: every one still maps.
    for (let n = 0; n < 200; n++) {
      expect(routed(device, `devices/d1/t/${n}`)).toEqual([
        ['private-site-lab', `n${n}`, '{"v":1}'],
      ])
    }
  })

  it('drops what renders outside Pusher’s limits instead of sending it', () => {
    const set = rules([
      { match: 'devices/+deviceId/x/+what', channel: 'private-${what}', event: 'e' },
    ])
    expect(set.map(device, 'devices/d1/x/', Buffer.from('{}'), 0).dropped).toEqual([
      { rule: 'r0', reason: '${what} is empty for this topic' },
    ])
    expect(set.map(device, 'devices/d1/x/a,b;c=d@e', Buffer.from('{}'), 0).events).toHaveLength(1)
    expect(set.map(device, 'devices/d1/x/has space', Buffer.from('{}'), 0).dropped).toEqual([
      { rule: 'r0', reason: 'channel "private-has space" is not a valid channel name' },
    ])
    const json = rules([{ match: 'a/+deviceId', channel: 'c', event: 'e', payload: 'json' }])
    expect(json.map(device, 'a/d1', Buffer.from('nope'), 0).dropped).toEqual([
      { rule: 'r0', reason: 'payload is not json' },
    ])
  })

  it('reads the payload only for events on a channel someone hears', () => {
    const set = rules([
      {
        match: 'a/+deviceId',
        channel: 'private-a-${deviceId}',
        event: 'e',
        payload: 'json',
        continue: true,
      },
      { match: 'a/+deviceId', channel: 'private-b-${deviceId}', event: 'e', payload: 'json' },
    ])
    const asked: string[] = []
    const onlyB = (channel: string) => {
      asked.push(channel)
      return channel.startsWith('private-b-')
    }
    expect(set.map(device, 'a/d1', Buffer.from('nope'), 0, onlyB)).toEqual({
      events: [],
      dropped: [{ rule: 'r1', reason: 'payload is not json' }],
      unheard: 1,
    })
    expect(asked).toEqual(['private-a-d1', 'private-b-d1'])
    const heard = set.map(device, 'a/d1', Buffer.from('{"v":1}'), 0, onlyB)
    expect(heard.events.map((e) => [e.channel, e.data])).toEqual([['private-b-d1', '{"v":1}']])
    expect(heard.unheard).toBe(1)
  })

  it('rejects at load what could never render a valid name', () => {
    const configs = [
      { name: 'slash', match: 'a/+x', channel: 'private-a/${x}', event: 'e' },
      { name: 'reserved', match: 'a/+x', channel: 'c-${x}', event: 'pusher:${x}' },
      { name: 'long', match: 'a/+x', channel: `${'c'.repeat(200)}-${'$'}{x}`, event: 'e' },
    ].map(
      (c) =>
        ({ payload: 'auto', wrap: false, throttle: 0, continue: false, ...c }) as UplinkRuleConfig,
    )
    expect(compileUplinkRules(configs).problems.map((p) => p.path.join('.'))).toEqual([
      'bridge.uplink.0.channel',
      'bridge.uplink.1.event',
      'bridge.uplink.2.channel',
    ])
  })

  it('reports every invalid rule with its path', () => {
    const bad = [
      { name: 'a', match: 'devices/#x/y', channel: 'c', event: 'e' },
      { name: 'b', match: 'devices/+id', channel: 'private-${nope}', event: '${id' },
      { name: 'c', match: 'devices/+id', channel: 'bad/name', event: 'e' },
    ].map(
      (c) =>
        ({ payload: 'auto', wrap: false, throttle: 0, continue: false, ...c }) as UplinkRuleConfig,
    )
    const { problems } = compileUplinkRules(bad)
    expect(problems).toEqual([
      {
        path: ['bridge', 'uplink', 0, 'match'],
        message: expect.stringMatching(/not a valid MQTT filter/),
      },
      { path: ['bridge', 'uplink', 1, 'event'], message: expect.stringMatching(/unclosed/) },
      {
        path: ['bridge', 'uplink', 1, 'channel'],
        message: expect.stringMatching(/\$\{nope\} is neither a capture/),
      },
      {
        path: ['bridge', 'uplink', 2, 'channel'],
        message: '"bad/name" has characters outside A-Z a-z 0-9 _ - = @ , . ;',
      },
    ])
  })
})
