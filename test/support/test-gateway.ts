import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { type ConfigOverrides, loadConfig } from '../../gateway/src/config/load.js'
import {
  createGateway,
  type Gateway,
  type GatewayAddresses,
  type GatewayDeps,
} from '../../gateway/src/gateway.js'

export const testApp = { id: 'app-1', key: 'app-key-1', secret: 'app-secret-1' } as const

export function tempDir(prefix = 'fleetcast-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export interface TestGateway {
  gateway: Gateway
  addresses: GatewayAddresses
  storePath: string
}

/**
 * A real gateway on loopback, every listener on port 0, its own SQLite file, silent logs, and one
 * app (`testApp`). It is closed when the calling test finishes.
 */
export async function startTestGateway(
  overrides: ConfigOverrides = {},
  deps: GatewayDeps = {},
): Promise<TestGateway> {
  const storePath = join(tempDir(), 'fleetcast.db')
  const config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      mqtt: { host: '127.0.0.1', port: 0, ...overrides.mqtt },
      store: { path: storePath, ...overrides.store },
      log: { level: 'silent', ...overrides.log },
      apps: overrides.apps ?? [testApp],
    },
  })
  const gateway = createGateway(config, deps)
  onTestFinished(() => gateway.close())
  const addresses = await gateway.listen()
  return { gateway, addresses, storePath }
}
