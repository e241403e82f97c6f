import { describe, expect, it } from 'vitest'
import { originAllowed } from './origin.js'

describe('originAllowed', () => {
  it('allows everything with an empty list, and requests without Origin', () => {
    expect(originAllowed('https://evil.test', [])).toBe(true)
    expect(originAllowed(undefined, ['https://app.example.com'])).toBe(true)
  })

  it('matches exact origins, wildcard subdomains and *', () => {
    const list = ['https://app.example.com', 'https://*.fleet.test', 'http://localhost:5173']
    expect(originAllowed('https://app.example.com', list)).toBe(true)
    expect(originAllowed('https://APP.example.com', list)).toBe(true)
    expect(originAllowed('https://a.fleet.test', list)).toBe(true)
    expect(originAllowed('https://a.b.fleet.test', list)).toBe(true)
    expect(originAllowed('http://localhost:5173', list)).toBe(true)
    expect(originAllowed('https://fleet.test', list)).toBe(false)
    expect(originAllowed('http://a.fleet.test', list)).toBe(false)
    expect(originAllowed('https://evilfleet.test', list)).toBe(false)
    expect(originAllowed('https://app.example.com.evil.test', list)).toBe(false)
    expect(originAllowed('http://localhost:5174', list)).toBe(false)
    expect(originAllowed('https://anything.test', ['*'])).toBe(true)
  })
})
