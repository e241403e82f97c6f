import type { Channels } from '../channels/channels.js'
import type { LifecycleListener } from '../domain/lifecycle.js'
import type { Logger } from '../log.js'
import type { DeviceSession } from './device-sessions.js'

/** Browsers watch device presence here (ARCHITECTURE.md: user_id = device id). */
export const DEVICES_PRESENCE_CHANNEL = 'presence-devices'

export interface DevicePresenceDeps {
  channels: Channels
  onLifecycle?: LifecycleListener | undefined
  touchLastSeen(deviceId: string, at: number): void
  /** The device's first connection began (`at`) or its last one ended (null). */
  setConnected(deviceId: string, at: number | null): void
  lastSeenIntervalMs: number
  log: Logger
}

/**
 * Online/offline from the broker's view. Each connection joins under its own generation key, so
 * the member refcount makes a takeover or a reconnect race harmless: the device is online while
 * any of its connections is, and member_added/removed (and the device webhooks) fire only on the
 * first and last. Changes for one device run one after another.
 */
export function createDevicePresence(deps: DevicePresenceDeps) {
  const queues = new Map<string, Promise<void>>()
  const lastWritten = new Map<string, number>()

  function serialised(deviceId: string, work: () => Promise<void>): void {
    const next = (queues.get(deviceId) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) =>
        deps.log.error({ err: error, deviceId }, 'device presence update failed'),
      )
    queues.set(deviceId, next)
    void next.then(() => {
      if (queues.get(deviceId) === next) queues.delete(deviceId)
    })
  }

  function writeLastSeen(deviceId: string, now: number): void {
    lastWritten.set(deviceId, now)
    deps.touchLastSeen(deviceId, now)
  }

  const key = (session: DeviceSession) => `mqtt:${session.generation}`

  return {
    connected(session: DeviceSession): void {
      writeLastSeen(session.deviceId, Date.now())
      serialised(session.deviceId, async () => {
        const member = {
          userId: session.deviceId,
          userInfo: { name: session.name, tags: session.tags },
        }
        const first = await deps.channels.addMember(
          session.appId,
          DEVICES_PRESENCE_CHANNEL,
          key(session),
          member,
        )
        if (!first) return
        deps.setConnected(session.deviceId, Date.now())
        deps.onLifecycle?.({
          name: 'device_connected',
          appId: session.appId,
          deviceId: session.deviceId,
        })
      })
    },
    disconnected(session: DeviceSession): void {
      writeLastSeen(session.deviceId, Date.now())
      lastWritten.delete(session.deviceId)
      serialised(session.deviceId, async () => {
        const last = await deps.channels.removeMember(
          session.appId,
          DEVICES_PRESENCE_CHANNEL,
          key(session),
        )
        if (!last) return
        deps.setConnected(session.deviceId, null)
        deps.onLifecycle?.({
          name: 'device_disconnected',
          appId: session.appId,
          deviceId: session.deviceId,
        })
      })
    },
    /** Activity: last-seen is written at most once per interval per device. */
    active(session: DeviceSession): void {
      const now = Date.now()
      if (now - (lastWritten.get(session.deviceId) ?? 0) >= deps.lastSeenIntervalMs)
        writeLastSeen(session.deviceId, now)
    },
  }
}

export type DevicePresence = ReturnType<typeof createDevicePresence>
