import { describe, expect, it } from 'vitest'
import { hmacHex, verifyChannelAuth } from './channel-signature.js'

// pusher-protocol §9 test vectors (Pusher docs credentials).
const app = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' }

describe('channel signatures', () => {
  it('matches the documented private-channel vector', () => {
    expect(hmacHex(app.secret, '1234.1234:private-foobar')).toBe(
      '58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4',
    )
    const auth = `${app.key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`
    expect(verifyChannelAuth(app, '1234.1234', 'private-foobar', auth)).toBe(true)
  })

  it('matches the documented presence vector over socket:channel:channel_data', () => {
    const channelData = '{"user_id":"10","user_info":{"name":"Mr. Channels"}}'
    const auth = `${app.key}:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800`
    expect(verifyChannelAuth(app, '1234.1234', 'presence-foobar', auth, channelData)).toBe(true)
    expect(verifyChannelAuth(app, '1234.1234', 'presence-foobar', auth)).toBe(false)
  })

  it('refuses a wrong key prefix, socket, channel or digest', () => {
    const digest = '58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4'
    expect(verifyChannelAuth(app, '1234.1234', 'private-foobar', `other:${digest}`)).toBe(false)
    expect(verifyChannelAuth(app, '1234.1235', 'private-foobar', `${app.key}:${digest}`)).toBe(
      false,
    )
    expect(verifyChannelAuth(app, '1234.1234', 'private-foobaz', `${app.key}:${digest}`)).toBe(
      false,
    )
    expect(
      verifyChannelAuth(app, '1234.1234', 'private-foobar', `${app.key}:${digest.toUpperCase()}`),
    ).toBe(false)
    expect(verifyChannelAuth(app, '1234.1234', 'private-foobar', '')).toBe(false)
  })
})
