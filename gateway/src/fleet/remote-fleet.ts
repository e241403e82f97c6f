import type { Device } from '../domain/device.js'
import type { AuditEntry, AuditQuery } from '../store/audit-log.js'
import type { Claim } from '../store/claim-repository.js'
import type { DeviceFilter } from '../store/device-repository.js'
import type { Token, TokenKind } from '../store/token-repository.js'
import {
  AdminClient,
  type AdminQuery,
  type AdminRequest,
  type AdminTarget,
} from './admin-client.js'
import type {
  AppView,
  AppWithSecret,
  ClaimWithSecret,
  DeviceWithSecret,
  FleetOperations,
  NewAppInput,
  NewClaimInput,
  NewDeviceInput,
  NewTokenInput,
  TokenWithBearer,
} from './fleet-operations.js'

const id = encodeURIComponent

/**
 * FleetOperations over the admin API (`/admin/v1`, docs/admin-api.md). Answers are the same JSON
 * shapes LocalFleet returns, and `{ error, code }` answers become the same GatewayErrors, so the
 * CLI prints the same bytes and exits with the same status in both modes.
 */
export class RemoteFleet implements FleetOperations {
  readonly #client: AdminClient

  constructor(target: AdminTarget) {
    this.#client = new AdminClient(target)
  }

  listApps(): Promise<AppView[]> {
    return this.#list('apps')
  }

  showApp(appId: string): Promise<AppView> {
    return this.#call(`apps/${id(appId)}`)
  }

  createApp(input: NewAppInput): Promise<AppWithSecret> {
    return this.#call('apps', { method: 'POST', json: input })
  }

  rotateAppSecret(appId: string): Promise<AppWithSecret> {
    return this.#call(`apps/${id(appId)}/rotate-secret`, { method: 'POST' })
  }

  setAppEnabled(appId: string, enabled: boolean): Promise<AppView> {
    return this.#call(`apps/${id(appId)}/${enabled ? 'enable' : 'disable'}`, { method: 'POST' })
  }

  listDevices(filter: DeviceFilter): Promise<Device[]> {
    return this.#list('devices', [
      ['app', filter.appId],
      ...Object.entries(filter.tags ?? {}).map(([k, v]): [string, string] => ['tag', `${k}=${v}`]),
      ['online', filter.online],
      ['after', filter.after],
      ['limit', filter.limit],
    ])
  }

  showDevice(deviceId: string): Promise<Device> {
    return this.#call(`devices/${id(deviceId)}`)
  }

  addDevice(input: NewDeviceInput): Promise<DeviceWithSecret> {
    return this.#call('devices', { method: 'POST', json: input })
  }

  rotateDevice(deviceId: string, overlapSeconds: number): Promise<DeviceWithSecret> {
    return this.#call(`devices/${id(deviceId)}/rotate`, {
      method: 'POST',
      json: { overlapSeconds },
    })
  }

  revokeDevice(deviceId: string): Promise<Device> {
    return this.#call(`devices/${id(deviceId)}/revoke`, { method: 'POST' })
  }

  setDeviceEnabled(deviceId: string, enabled: boolean): Promise<Device> {
    return this.#call(`devices/${id(deviceId)}/${enabled ? 'enable' : 'disable'}`, {
      method: 'POST',
    })
  }

  kickDevice(deviceId: string): Promise<Device> {
    return this.#call(`devices/${id(deviceId)}/kick`, { method: 'POST' })
  }

  createToken(input: NewTokenInput): Promise<TokenWithBearer> {
    return this.#call('tokens', { method: 'POST', json: input })
  }

  listTokens(filter: { kind?: TokenKind | undefined; appId?: string | undefined }) {
    return this.#list<Token>('tokens', [
      ['kind', filter.kind],
      ['app', filter.appId],
    ])
  }

  revokeToken(tokenId: string): Promise<Token> {
    return this.#call(`tokens/${id(tokenId)}/revoke`, { method: 'POST' })
  }

  createClaim(input: NewClaimInput): Promise<ClaimWithSecret> {
    return this.#call('claims', { method: 'POST', json: input })
  }

  listClaims(filter: { appId?: string | undefined }): Promise<Claim[]> {
    return this.#list('claims', [['app', filter.appId]])
  }

  revokeClaim(claimId: string): Promise<Claim> {
    return this.#call(`claims/${id(claimId)}/revoke`, { method: 'POST' })
  }

  audit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.#list('audit', [
      ['since', query.since],
      ['until', query.until],
      ['actor', query.actor],
      ['action', query.action],
      ['app', query.appId],
      ['target', query.target],
      ['result', query.result],
      ['limit', query.limit],
    ])
  }

  async #list<T>(path: string, query: AdminQuery = []): Promise<T[]> {
    const answer = await this.#client.json<{ items?: unknown }>(path, { query })
    if (!Array.isArray(answer.items)) throw this.#client.notTheAdminApi(200, 'a list without items')
    return answer.items as T[]
  }

  #call<T>(path: string, request: AdminRequest = {}): Promise<T> {
    return this.#client.json<T>(path, request)
  }
}
