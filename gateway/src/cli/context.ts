import type { Command } from 'commander'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { upsertConfiguredApps } from '../fleet/bootstrap-apps.js'
import { openStore, type Store } from '../store/open-store.js'
import type { CliIo } from './io.js'

/** Loads the config named by the global --config option (or FLEETCAST_CONFIG). */
export function configFor(command: Command, io: CliIo): Readonly<Config> {
  const { config } = command.optsWithGlobals<{ config?: string }>()
  return loadConfig({ file: config, env: io.env })
}

/** Runs `work` against the configured store (configured apps applied) and closes it afterwards. */
export async function withStore<T>(
  command: Command,
  io: CliIo,
  work: (store: Store) => Promise<T> | T,
): Promise<T> {
  const config = configFor(command, io)
  const store = openStore(config.store.path)
  try {
    upsertConfiguredApps(store, config.apps)
    return await work(store)
  } finally {
    store.close()
  }
}
