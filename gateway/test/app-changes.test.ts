import { describe, expect, it } from 'vitest'
import { pusherServer, statusOf } from '../../test/support/pusher-server.js'
import { startTestGateway } from '../../test/support/test-gateway.js'
import { run } from './cli-harness.js'

/** Asks `probe` until it answers `expected` or `ms` pass: the gateway polls the store file. */
async function eventually<T>(probe: () => Promise<T>, expected: T, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value === expected || Date.now() > deadline) return value
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('apps changed by another process', () => {
  it('serves an app the CLI created, and stops when the CLI disables it or rotates its secret', async () => {
    const target = await startTestGateway()
    const env = { FLEETCAST_STORE__PATH: target.storePath }
    const created = await run(['apps', 'create', '--json'], env)
    expect(created.code).toBe(0)
    const app = JSON.parse(created.stdout) as { id: string; key: string; secret: string }
    const backend = pusherServer(target, app)
    const trigger = () => statusOf(backend.trigger('private-x', 'ping', { n: 1 }))
    // The gateway had not read this app before, so no stale copy of it can exist yet.
    expect(await trigger()).toBe(200)

    expect((await run(['apps', 'disable', app.id], env)).code).toBe(0)
    expect(await eventually(trigger, 403)).toBe(403)
    expect((await run(['apps', 'enable', app.id], env)).code).toBe(0)
    expect(await eventually(trigger, 200)).toBe(200)

    const rotated = await run(['apps', 'rotate-secret', app.id, '--json'], env)
    const { secret } = JSON.parse(rotated.stdout) as { secret: string }
    expect(await eventually(trigger, 401)).toBe(401)
    expect(
      await statusOf(pusherServer(target, { ...app, secret }).trigger('private-x', 'ping', {})),
    ).toBe(200)
  })
})
