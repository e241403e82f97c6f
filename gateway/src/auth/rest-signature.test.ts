import { describe, expect, it } from 'vitest'
import { md5Hex, signingParams, stringToSign, verifyRestSignature } from './rest-signature.js'

// pusher-protocol §11.1 worked vectors (Pusher docs credentials).
const app = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' }
const body = Buffer.from('{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}')
const NOW = 1353088179

describe('REST request signatures', () => {
  it('matches the documented POST vector, body_md5 included', () => {
    expect(md5Hex(body)).toBe('ec365a775a4cd0599faeb73354201b6f')
    const query =
      'auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f' +
      '&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c'
    expect(stringToSign('POST', '/apps/3/events', signingParams(query))).toBe(
      'POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f',
    )
    expect(
      verifyRestSignature({ method: 'POST', path: '/apps/3/events', query, body }, app, NOW, 600),
    ).toBeUndefined()
  })

  it('matches the documented GET vector, with URL-encoded values as PHP sends them', () => {
    const signature = '16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291'
    const plain = `auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&auth_signature=${signature}`
    const encoded = `info=user%5Fcount&filter_by_prefix=presence%2D&auth_version=1.0&auth_timestamp=1353088179&auth_key=278d425bdf160c739803&auth_signature=${signature}`
    for (const query of [plain, encoded]) {
      expect(
        verifyRestSignature(
          { method: 'GET', path: '/apps/3/channels', query, body: Buffer.alloc(0) },
          app,
          NOW,
          600,
        ),
      ).toBeUndefined()
    }
  })

  it('folds PHP array parameters and lower-cases keys', () => {
    const params = signingParams('Channels%5B%5D=a&channels[]=b&INFO=x')
    expect([...params]).toEqual([
      ['channels', 'a,b'],
      ['info', 'x'],
    ])
  })

  it('names each reason a request is refused', () => {
    const query = (extra: string) =>
      `auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f${extra}`
    const good = '&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c'
    const verify = (q: string, b = body, now = NOW, path = '/apps/3/events') =>
      verifyRestSignature({ method: 'POST', path, query: q, body: b }, app, now, 600)
    expect(verify(query(''))).toMatch(/^Missing/)
    expect(verify(query(good), body, NOW + 601)).toMatch(/auth_timestamp is more than 600 seconds/)
    expect(verify(query(good), Buffer.from(`${body.toString()} `))).toBe(
      'body_md5 does not match the body',
    )
    expect(verify(query(good).replace('278d425bdf160c739803', 'other'))).toBe(
      'auth_key does not match the app',
    )
    expect(verify(query(good), body, NOW, '/apps/4/events')).toMatch(/^Invalid signature/)
    expect(verify(query('&auth_signature=00'))).toMatch(/^Invalid signature/)
    expect(
      verifyRestSignature(
        { method: 'POST', path: '/apps/3/events', query: query(good), body },
        app,
        NOW + 10_000,
        0,
      ),
    ).toBeUndefined()
  })
})
