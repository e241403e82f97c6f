import type { Aedes } from 'aedes'
import type { Logger } from '../log.js'
import type { Store } from '../store/open-store.js'
import type { DeviceSessions } from './device-sessions.js'
import { purgeSession } from './session-purge.js'

/** How often the store is asked whether another process wrote to it. */
const POLL_MS = 500
/** Changes are looked up with this much slack, so a write in the same millisecond is not missed. */
const SLACK_MS = 2000

/**
 * Ends the live connection and the persistent session of every device that was disabled, revoked
 * or rotated since it logged in, whether the change came from this process (`check()`) or from
 * `fleetcast devices ...` run against the same store file (noticed within POLL_MS through SQLite's
 * data_version, which moves when another connection commits).
 */
export function watchCredentials(
  store: Store,
  sessions: DeviceSessions,
  broker: Aedes,
  log: Logger,
) {
  let version = store.dataVersion()
  let since = Date.now()

  function check(): void {
    const now = Date.now()
    const changed = store.devices.changedSince(since - SLACK_MS)
    since = now
    for (const device of changed) {
      const client = sessions.liveClient(device.id)
      const session = sessions.get(client)
      const stale =
        session !== undefined &&
        'credentialStamp' in session &&
        session.credentialStamp < device.updatedAt
      if (client && stale) {
        log.info({ deviceId: device.id }, 'device credentials changed: closing its connection')
        client.close()
      }
      if (stale || !client) {
        purgeSession(broker, device.id).catch((error: unknown) =>
          log.error({ err: error, deviceId: device.id }, 'could not drop the persistent session'),
        )
      }
    }
  }

  const timer = setInterval(() => {
    const current = store.dataVersion()
    if (current === version) return
    version = current
    check()
  }, POLL_MS)
  timer.unref()
  return { check, stop: () => clearInterval(timer) }
}
