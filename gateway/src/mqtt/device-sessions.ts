import type { Client } from 'aedes'

/** What the broker learned about a client at CONNECT; kept for the life of the connection. */
export interface DeviceSession {
  deviceId: string
  appId: string
}

/** Keyed by the aedes client object, so a session can never outlive its connection. */
export type DeviceSessions = WeakMap<Client, DeviceSession>
