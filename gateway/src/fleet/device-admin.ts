import { issueSecret } from '../auth/secret-hash.js'
import type { Device } from '../domain/device.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { Store } from '../store/open-store.js'

/** Seconds the old secret keeps working after a rotation unless told otherwise. */
export const DEFAULT_ROTATION_OVERLAP = 0
/** Longest overlap: a year, in seconds; a fleet that needs longer has stopped rotating. */
export const MAX_ROTATION_OVERLAP = 365 * 86_400

export interface RotatedDevice {
  device: Device
  /** Shown once; only its hash is stored. */
  secret: string
}

/**
 * Issues a new secret. With `overlapSeconds` > 0 the old one keeps logging in that long (a fleet
 * rolls over without downtime); either way the live connection is closed so it logs in again.
 * Rotating a revoked device gives it credentials again.
 */
export function rotateDevice(
  store: Store,
  id: string,
  overlapSeconds = DEFAULT_ROTATION_OVERLAP,
): RotatedDevice {
  if (
    !Number.isInteger(overlapSeconds) ||
    overlapSeconds < 0 ||
    overlapSeconds > MAX_ROTATION_OVERLAP
  ) {
    throw new GatewayError(
      'FC_ERR_DEVICE_INVALID',
      `overlapSeconds must be a whole number from 0 to ${MAX_ROTATION_OVERLAP}, got ${overlapSeconds}`,
    )
  }
  const { secret, hash } = issueSecret()
  const device = store.devices.rotate(id, hash, Date.now() + overlapSeconds * 1000)
  return { device, secret }
}

export function revokeDevice(store: Store, id: string): Device {
  return store.devices.revoke(id)
}

export function setDeviceEnabled(store: Store, id: string, enabled: boolean): Device {
  return store.devices.setEnabled(id, enabled)
}
