import type { Store } from './open-store.js'

/** How often the store is asked whether another process wrote to it. */
const POLL_MS = 500

/**
 * Calls `onChange` within POLL_MS of another connection (the CLI, say) committing to the store
 * file. SQLite's data_version moves only for other connections' commits, so this process's own
 * writes (the admin API) must notify their consumers directly.
 */
export function watchExternalChanges(store: Store, onChange: () => void): { stop(): void } {
  let version = store.dataVersion()
  const timer = setInterval(() => {
    const current = store.dataVersion()
    if (current === version) return
    version = current
    onChange()
  }, POLL_MS)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
