import { describe, expect, it } from 'vitest'
import { LoginThrottle } from './login-throttle.js'

const options = { limit: 3, window: 60, ban: 10, maxBan: 25 }

describe('LoginThrottle', () => {
  it('bans after `limit` failures within the window and doubles each ban up to the maximum', () => {
    const throttle = new LoginThrottle(options)
    const t0 = 1_000_000
    expect(throttle.fail('dev', t0)).toBe(0)
    expect(throttle.fail('dev', t0 + 1)).toBe(0)
    expect(throttle.fail('dev', t0 + 2)).toBe(10)
    expect(throttle.bannedFor('dev', t0 + 3)).toBe(10)
    expect(throttle.bannedFor('other', t0 + 3)).toBe(0)
    expect(throttle.bannedFor('dev', t0 + 10_003)).toBe(0)
    for (const at of [1, 2]) expect(throttle.fail('dev', t0 + 20_000 + at)).toBe(0)
    expect(throttle.fail('dev', t0 + 20_003)).toBe(20)
    for (const at of [1, 2]) throttle.fail('dev', t0 + 60_000 + at)
    expect(throttle.fail('dev', t0 + 60_003)).toBe(25)
  })

  it('forgets failures outside the window and after a good login', () => {
    const throttle = new LoginThrottle(options)
    throttle.fail('dev', 0)
    throttle.fail('dev', 1)
    expect(throttle.fail('dev', 61_000)).toBe(0)
    throttle.succeed('dev')
    throttle.fail('dev', 61_001)
    expect(throttle.fail('dev', 61_002)).toBe(0)
  })

  it('stays bounded under a storm of distinct keys', () => {
    const throttle = new LoginThrottle(options, 100)
    for (let i = 0; i < 1000; i++) throttle.fail(`10.0.${i >> 8}.${i & 255}`, i)
    expect(throttle.bannedFor('10.0.3.231', 1000)).toBe(0)
    expect(throttle.fail('10.0.3.231', 1001)).toBe(0)
  })
})
