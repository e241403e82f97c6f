import type { Aedes } from 'aedes'
import type { Logger } from '../log.js'
import type { Store } from '../store/open-store.js'
import type { DeviceSessions } from './device-sessions.js'
import { purgeSession } from './session-purge.js'

/** Changes are looked up with this much slack, so a write in the same millisecond is not missed. */
const SLACK_MS = 2000

/**
 * Ends the live connection and the persistent session of every device that was disabled, revoked,
 * rotated or kicked since it logged in. `check()` runs when this process changed a device and when
 * another process wrote to the store (store/external-changes.ts).
 */
export function watchCredentials(
  store: Store,
  sessions: DeviceSessions,
  broker: Aedes,
  log: Logger,
) {
  let since = Date.now()

  function check(): void {
    const now = Date.now()
    const changed = store.devices.changedSince(since - SLACK_MS)
    since = now
    for (const device of changed) {
      // A device created since has no session to end (a bulk import adds thousands at once).
      if (device.createdAt === device.updatedAt) continue
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

  return { check }
}
