import type { Device } from '../domain/device.js'
import type { DeviceAcl } from '../domain/device-acl.js'
import type { AuditEntry, AuditQuery } from '../store/audit-log.js'
import type { Claim } from '../store/claim-repository.js'
import type { DeviceFilter } from '../store/device-repository.js'
import type { Token, TokenKind } from '../store/token-repository.js'

/**
 * Every operation an operator can perform on the registry, with one JSON shape per answer. Two
 * implementations keep the CLI's output identical in both modes: the local one works on the store
 * file (and backs the admin API), the remote one calls the admin API (`fleetcast --url`).
 * Failures are GatewayErrors whose `code` travels as `{ error, code }` over HTTP.
 */
export interface FleetOperations {
  listApps(): Promise<AppView[]>
  showApp(id: string): Promise<AppView>
  createApp(input: NewAppInput): Promise<AppWithSecret>
  rotateAppSecret(id: string): Promise<AppWithSecret>
  setAppEnabled(id: string, enabled: boolean): Promise<AppView>

  listDevices(filter: DeviceFilter): Promise<Device[]>
  showDevice(id: string): Promise<Device>
  addDevice(input: NewDeviceInput): Promise<DeviceWithSecret>
  rotateDevice(id: string, overlapSeconds: number): Promise<DeviceWithSecret>
  revokeDevice(id: string): Promise<Device>
  setDeviceEnabled(id: string, enabled: boolean): Promise<Device>
  /** Closes the live connection and drops the persistent session; the device may log in again. */
  kickDevice(id: string): Promise<Device>

  createToken(input: NewTokenInput): Promise<TokenWithBearer>
  listTokens(filter: { kind?: TokenKind | undefined; appId?: string | undefined }): Promise<Token[]>
  revokeToken(id: string): Promise<Token>

  createClaim(input: NewClaimInput): Promise<ClaimWithSecret>
  listClaims(filter: { appId?: string | undefined }): Promise<Claim[]>
  revokeClaim(id: string): Promise<Claim>

  audit(query: AuditQuery): Promise<AuditEntry[]>
}

/** An app without its secret, which is shown only by create and rotate-secret. */
export interface AppView {
  id: string
  key: string
  enabled: boolean
  clientEvents: boolean
  /** Defined under `apps[]` in the config file: changed there, not by commands. */
  managedByConfig: boolean
  deviceCount: number
}

export interface AppWithSecret extends AppView {
  secret: string
}

export interface NewAppInput {
  /** Generated (`app-` + 8 hex) when absent. */
  id?: string | undefined
  clientEvents?: boolean | undefined
}

export interface NewDeviceInput {
  id: string
  appId?: string | undefined
  name?: string | undefined
  tags?: Record<string, string> | undefined
  acl?: DeviceAcl | undefined
}

export type DeviceWithSecret = Device & { secret: string }

export interface NewTokenInput {
  kind: TokenKind
  /** Required for viewer tokens; null or absent gives an admin token every app. */
  appId?: string | null | undefined
  grants?: string[] | undefined
  userId?: string | undefined
  label?: string | undefined
  /** Seconds until the token stops working; absent for no expiry. */
  ttlSeconds?: number | undefined
}

/** `token` is the bearer string, shown only at creation. */
export type TokenWithBearer = Token & { token: string }

export interface NewClaimInput {
  appId?: string | undefined
  tags?: Record<string, string> | undefined
  label?: string | undefined
  uses: number
  ttlSeconds?: number | undefined
}

/** `claim` is the secret devices present, shown only at creation. */
export type ClaimWithSecret = Claim & { claim: string }
