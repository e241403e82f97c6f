import type { DeviceAcl } from './device-acl.js'

export interface Device {
  id: string
  appId: string
  name: string | null
  tags: Record<string, string>
  enabled: boolean
  /** Set when the device's secrets were revoked; it cannot log in until rotated. */
  revokedAt: number | null
  /** null: the default topic contract (DEFAULT_ACL). */
  acl: DeviceAcl | null
  createdAt: number
  lastSeenAt: number | null
  /** Bumped by every change that must end live sessions (disable, revoke, rotate, kick). */
  updatedAt: number
  /** When its current connection began, as the gateway recorded it; null when offline. */
  connectedAt: number | null
}
