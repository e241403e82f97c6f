import type { Command } from 'commander'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { upsertConfiguredApps } from '../fleet/bootstrap-apps.js'
import type { FleetOperations } from '../fleet/fleet-operations.js'
import { LocalFleet } from '../fleet/local-fleet.js'
import { RemoteFleet } from '../fleet/remote-fleet.js'
import { openStore, type Store } from '../store/open-store.js'
import type { CliIo } from './io.js'
import { UsageError } from './usage-error.js'

interface GlobalOptions {
  config?: string
  url?: string
  token?: string
}

/** Loads the config named by the global --config option (or FLEETCAST_CONFIG). */
export function configFor(command: Command, io: CliIo): Readonly<Config> {
  const { config } = command.optsWithGlobals<GlobalOptions>()
  return loadConfig({ file: config, env: io.env })
}

/** Runs `work` against the configured store (configured apps applied) and closes it afterwards. */
export async function withStore<T>(
  command: Command,
  io: CliIo,
  work: (store: Store, config: Readonly<Config>) => Promise<T> | T,
): Promise<T> {
  const config = configFor(command, io)
  const store = openStore(config.store.path)
  try {
    upsertConfiguredApps(store, config.apps)
    return await work(store, config)
  } finally {
    store.close()
  }
}

/** The admin API a command should go through: --url/--token, else FLEETCAST_URL/_ADMIN_TOKEN. */
export function remoteTarget(
  command: Command,
  io: CliIo,
): { url: string; token: string } | undefined {
  const options = command.optsWithGlobals<GlobalOptions>()
  const url = options.url ?? io.env.FLEETCAST_URL
  if (url === undefined || url === '') return undefined
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new UsageError(`--url "${url}" is not a URL; expected e.g. http://localhost:6001`)
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(`--url "${url}" must start with http:// or https://`)
  }
  const token = options.token ?? io.env.FLEETCAST_ADMIN_TOKEN
  if (token === undefined || token === '') {
    throw new UsageError(
      '--url needs an admin token: pass --token or set FLEETCAST_ADMIN_TOKEN (create one with `fleetcast tokens create --admin`)',
    )
  }
  return { url, token }
}

/**
 * Runs `work` on the registry: through the admin API when a gateway URL is given, else on the
 * store file as the actor `cli` (the gateway may be stopped; if it runs, it sees the change).
 */
export async function withFleet<T>(
  command: Command,
  io: CliIo,
  work: (fleet: FleetOperations) => Promise<T>,
): Promise<T> {
  const remote = remoteTarget(command, io)
  if (remote) return work(new RemoteFleet(remote))
  return withStore(command, io, (store, config) =>
    work(
      new LocalFleet({
        store,
        configuredAppIds: config.apps.map((app) => app.id),
        actor: 'cli',
        appScope: null,
      }),
    ),
  )
}
