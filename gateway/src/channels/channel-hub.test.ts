import { describe, expect, it } from 'vitest'
import { ChannelHub, type Subscriber } from './channel-hub.js'

function fakeSubscriber(socketId: string): Subscriber & { frames: string[] } {
  const frames: string[] = []
  return { socketId, frames, send: (frame) => frames.push(frame.toString()) }
}

describe('ChannelHub', () => {
  it('delivers one serialised frame to each subscriber except the excluded socket', () => {
    const hub = new ChannelHub()
    const a = fakeSubscriber('1.1')
    const b = fakeSubscriber('1.2')
    const elsewhere = fakeSubscriber('1.3')
    hub.subscribe('app', 'news', a)
    hub.subscribe('app', 'news', b)
    hub.subscribe('other-app', 'news', elsewhere)
    const sent = hub.deliver({
      appId: 'app',
      channel: 'news',
      event: 'e',
      data: '{"x":1}',
      exceptSocketId: '1.2',
    })
    expect(sent).toBe(1)
    expect(a.frames).toEqual(['{"event":"e","channel":"news","data":"{\\"x\\":1}"}'])
    expect(b.frames).toEqual([])
    expect(elsewhere.frames).toEqual([])
  })

  it('adds user_id when the envelope carries one', () => {
    const hub = new ChannelHub()
    const a = fakeSubscriber('1.1')
    hub.subscribe('app', 'presence-room', a)
    hub.deliver({
      appId: 'app',
      channel: 'presence-room',
      event: 'client-x',
      data: { t: 1 },
      userId: '7',
    })
    expect(JSON.parse(a.frames[0] ?? '')).toEqual({
      event: 'client-x',
      channel: 'presence-room',
      data: { t: 1 },
      user_id: '7',
    })
  })

  it('is idempotent on subscribe and unsubscribe and forgets empty channels', () => {
    const hub = new ChannelHub()
    const a = fakeSubscriber('1.1')
    expect(hub.subscribe('app', 'c', a)).toBe(true)
    expect(hub.subscribe('app', 'c', a)).toBe(false)
    expect(hub.subscriberCount('app', 'c')).toBe(1)
    expect(hub.unsubscribe('app', 'c', a)).toBe(true)
    expect(hub.unsubscribe('app', 'c', a)).toBe(false)
    expect(hub.subscriberCount('app', 'c')).toBe(0)
    expect(hub.deliver({ appId: 'app', channel: 'c', event: 'e', data: '{}' })).toBe(0)
  })
})
