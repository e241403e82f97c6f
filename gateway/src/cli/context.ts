import type { Command } from 'commander'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { openStore, type Store } from '../store/open-store.js'
import type { CliIo } from './io.js'

/** Loads the config named by the global --config option (or FLEETCAST_CONFIG). */
export function configFor(command: Command, io: CliIo): Readonly<Config> {
  const { config } = command.optsWithGlobals<{ config?: string }>()
  return loadConfig({ file: config, env: io.env })
}

/** Runs `work` against the configured store and closes it afterwards. */
export async function withStore<T>(
  command: Command,
  io: CliIo,
  work: (store: Store) => Promise<T> | T,
): Promise<T> {
  const store = openStore(configFor(command, io).store.path)
  try {
    return await work(store)
  } finally {
    store.close()
  }
}
