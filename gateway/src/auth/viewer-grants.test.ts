import { describe, expect, it } from 'vitest'
import type { Device } from '../domain/device.js'
import { deviceOfChannel, globMatches, grantsCover } from './viewer-grants.js'

function device(id: string, appId: string, tags: Record<string, string>): Device {
  return {
    id,
    appId,
    name: null,
    tags,
    enabled: true,
    revokedAt: null,
    acl: null,
    createdAt: 0,
    lastSeenAt: null,
    updatedAt: 0,
    connectedAt: null,
  }
}

describe('viewer grants', () => {
  it('globs with * over any run of characters, and nothing else', () => {
    expect(globMatches('private-device-*', 'private-device-thermo-1')).toBe(true)
    expect(globMatches('private-device-*', 'private-device-')).toBe(true)
    expect(globMatches('private-*-1', 'private-device-thermo-1')).toBe(true)
    expect(globMatches('*', 'presence-devices')).toBe(true)
    expect(globMatches('presence-devices', 'presence-devices')).toBe(true)
    expect(globMatches('presence-devices', 'presence-devices-2')).toBe(false)
    expect(globMatches('private-device-*', 'private-cache-device-a')).toBe(false)
    // `.` is literal, not a regular-expression wildcard.
    expect(globMatches('private-a.b', 'private-axb')).toBe(false)
    expect(globMatches('*a*a*a*a*a*a*a*a*b', 'a'.repeat(200))).toBe(false)
  })

  it('reads the device id out of its device channels only', () => {
    expect(deviceOfChannel('private-device-thermo-1')).toBe('thermo-1')
    expect(deviceOfChannel('private-cache-device-thermo-1')).toBe('thermo-1')
    expect(deviceOfChannel('private-encrypted-device-thermo-1')).toBe('thermo-1')
    expect(deviceOfChannel('private-encrypted-cache-device-thermo-1')).toBe('thermo-1')
    expect(deviceOfChannel('private-device-')).toBeUndefined()
    expect(deviceOfChannel('private-device-a;b')).toBeUndefined()
    expect(deviceOfChannel('presence-devices')).toBeUndefined()
    expect(deviceOfChannel('private-site-lab')).toBeUndefined()
  })

  it('covers device channels of tagged devices of the same app, read at call time', () => {
    const devices = new Map([
      ['probe-1', device('probe-1', 'app-1', { site: 'lab' })],
      ['probe-2', device('probe-2', 'app-2', { site: 'lab' })],
      ['probe-3', device('probe-3', 'app-1', { site: 'lab=north' })],
    ])
    const find = (id: string) => devices.get(id)
    const covers = (grants: string[], channel: string) =>
      grantsCover(grants, channel, 'app-1', find)
    expect(covers(['tag:site=lab'], 'private-device-probe-1')).toBe(true)
    expect(covers(['tag:site=lab'], 'private-cache-device-probe-1')).toBe(true)
    expect(covers(['tag:site=lab'], 'private-device-probe-2')).toBe(false)
    expect(covers(['tag:site=lab'], 'private-device-missing')).toBe(false)
    expect(covers(['tag:site=lab'], 'private-site-lab')).toBe(false)
    expect(covers(['tag:site=lab=north'], 'private-device-probe-3')).toBe(true)
    expect(covers(['tag:site=lab'], 'private-device-probe-3')).toBe(false)
    expect(covers(['tag:constructor='], 'private-device-probe-1')).toBe(false)
    expect(covers(['presence-devices', 'tag:site=lab'], 'presence-devices')).toBe(true)
    devices.set('probe-1', device('probe-1', 'app-1', { site: 'home' }))
    expect(covers(['tag:site=lab'], 'private-device-probe-1')).toBe(false)
  })
})
