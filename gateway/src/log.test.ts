import { describe, expect, it } from 'vitest'
import { captureLog } from '../../test/support/log-capture.js'

describe('logger', () => {
  it('redacts secrets, passwords and signatures at the top level and one level down', async () => {
    const captured = captureLog()
    captured.log.info(
      {
        secret: 's1',
        password: 'p1',
        auth: 'key:sig',
        auth_signature: 'abc',
        app: { id: 'a', secret: 's2' },
        apps: [{ id: 'a', secret: 's3' }],
        device: 'd1',
      },
      'hello',
    )
    const line = await captured.waitFor((l) => l.msg === 'hello')
    expect(line).toMatchObject({
      secret: '[redacted]',
      password: '[redacted]',
      auth: '[redacted]',
      auth_signature: '[redacted]',
      app: { id: 'a', secret: '[redacted]' },
      apps: [{ id: 'a', secret: '[redacted]' }],
      device: 'd1',
    })
    expect(JSON.stringify(captured.lines())).not.toMatch(/s1|s2|s3|p1|key:sig|abc/)
  })
})
