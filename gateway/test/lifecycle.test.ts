import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { captureIo } from '../../test/support/cli-io.js'
import { openRawPusherSocket } from '../../test/support/raw-ws.js'
import { startTestGateway, tempDir } from '../../test/support/test-gateway.js'
import { runCli } from '../src/cli/main.js'
import { type ConfigOverrides, loadConfig } from '../src/config/load.js'
import { createGateway } from '../src/gateway.js'

function occupiedPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 })
    })
  })
}

function hermeticConfig(overrides: ConfigOverrides = {}) {
  return loadConfig({
    env: {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      store: { path: join(tempDir(), 'f.db') },
      log: { level: 'silent' },
      ...overrides,
    },
  })
}

describe('gateway lifecycle', () => {
  it('binds every listener on port 0 and reports the ports it got', async () => {
    const { addresses, gateway } = await startTestGateway()
    expect(addresses.http.port).toBeGreaterThan(0)
    expect(addresses.mqtt.port).toBeGreaterThan(0)
    expect(addresses.http.port).not.toBe(addresses.mqtt.port)
    expect(gateway.addresses).toEqual(addresses)
    expect(await gateway.listen()).toBe(addresses)
  })

  it('says when addresses are read before listen() and closes idempotently even unstarted', async () => {
    const gateway = createGateway(hermeticConfig())
    expect(() => gateway.addresses).toThrow(
      expect.objectContaining({ code: 'FC_ERR_NOT_LISTENING' }),
    )
    const first = gateway.close()
    expect(gateway.close()).toBe(first)
    await first
  })

  it.each(['mqtt', 'http'] as const)(
    'fails fast naming %s.port when its port is taken',
    async (edge) => {
      const { server, port } = await occupiedPort()
      try {
        const gateway = createGateway(hermeticConfig({ [edge]: { host: '127.0.0.1', port } }))
        const error = await gateway.listen().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toMatchObject({
          code: 'FC_ERR_PORT_IN_USE',
          message: `Port ${port} on 127.0.0.1 is already in use; set ${edge}.port (or FLEETCAST_${edge.toUpperCase()}__PORT) to a free port`,
        })
        await gateway.close()
      } finally {
        server.close()
      }
    },
  )

  it('fails before listening when the store path is unwritable', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'a-file'), '')
    const config = hermeticConfig({ store: { path: join(dir, 'a-file', 'f.db') } })
    expect(() => createGateway(config)).toThrow(
      expect.objectContaining({ code: 'FC_ERR_STORE_OPEN' }),
    )
  })

  it('creates an app on the first start without apps, and only then', async () => {
    const storePath = join(tempDir(), 'f.db')
    const first = await startTestGateway({ apps: [], store: { path: storePath } })
    const created = first.gateway.createdApp
    expect(created).toMatchObject({ enabled: true, clientEvents: false })
    const { frames } = await openRawPusherSocket(first.addresses.http.port, created?.key ?? '')
    expect((await frames.next()).event).toBe('pusher:connection_established')
    await first.gateway.close()

    const second = await startTestGateway({ apps: [], store: { path: storePath } })
    expect(second.gateway.createdApp).toBeUndefined()
    expect(second.gateway.store.apps.list()).toEqual([created])
  })

  it('runs `fleetcast start` until asked to stop, printing a created app once', async () => {
    const cli = captureIo({
      FLEETCAST_HTTP__HOST: '127.0.0.1',
      FLEETCAST_HTTP__PORT: '0',
      FLEETCAST_MQTT__HOST: '127.0.0.1',
      FLEETCAST_MQTT__PORT: '0',
      FLEETCAST_STORE__PATH: join(tempDir(), 'f.db'),
      FLEETCAST_LOG__FORMAT: 'json',
    })
    const exit = runCli(['start'], cli.io)
    await cli.stdoutIncludes('fleetcast listening')
    expect(cli.stdout()).toMatch(/app secret: [0-9a-f]{20}\n/)
    cli.stop()
    expect(await exit).toBe(0)
    expect(cli.stdout()).toContain('"msg":"fleetcast stopped"')
  })
})
