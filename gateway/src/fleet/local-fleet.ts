import { randomBytes } from 'node:crypto'
import { generateSecret } from '../auth/secret-hash.js'
import { appSchema } from '../config/schema.js'
import type { App } from '../domain/app.js'
import type { Device } from '../domain/device.js'
import { APP_ID_PATTERN, APP_ID_RULE } from '../domain/names.js'
import type { ErrorCode } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'
import type { AuditEntry, AuditQuery } from '../store/audit-log.js'
import type { Claim } from '../store/claim-repository.js'
import type { DeviceFilter } from '../store/device-repository.js'
import type { Store } from '../store/open-store.js'
import type { Token, TokenKind } from '../store/token-repository.js'
import { revokeDevice, rotateDevice, setDeviceEnabled } from './device-admin.js'
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
import { provisionDevice, resolveApp } from './provision-device.js'
import { claimProblems, expiry, tokenProblems } from './token-claim-rules.js'

export interface LocalFleetOptions {
  store: Store
  /** Apps listed under `apps[]` in the config: the config owns their secret and state. */
  configuredAppIds: readonly string[]
  /** Recorded as the audit actor: `cli`, `token:<id>`. */
  actor: string
  /** Every operation is limited to this app; null for all apps. */
  appScope: string | null
  /** Called after a device's credentials or state changed, so live sessions end at once. */
  onDeviceChanged?: ((id: string) => void) | undefined
}

interface AuditFacts {
  appId?: string | null | undefined
  target?: string | null | undefined
  detail?: Record<string, unknown> | undefined
}

function refuseIf(code: ErrorCode, problems: string[]): void {
  if (problems.length > 0) throw new GatewayError(code, problems.join('; '))
}

/**
 * FleetOperations on the store file: what the CLI runs without `--url` and what the admin API
 * runs for each request. Every change is written to the audit log, refusals included, and an
 * app scope confines every operation to one app.
 */
export class LocalFleet implements FleetOperations {
  readonly #store: Store
  readonly #configured: ReadonlySet<string>
  readonly #actor: string
  readonly #scope: string | null
  readonly #onDeviceChanged: (id: string) => void

  constructor(options: LocalFleetOptions) {
    this.#store = options.store
    this.#configured = new Set(options.configuredAppIds)
    this.#actor = options.actor
    this.#scope = options.appScope
    this.#onDeviceChanged = options.onDeviceChanged ?? (() => {})
  }

  async listApps(): Promise<AppView[]> {
    return this.#store.apps
      .list()
      .filter((app) => this.#covers(app.id))
      .map((app) => this.#view(app))
  }

  async showApp(id: string): Promise<AppView> {
    return this.#view(this.#app(id))
  }

  async createApp(input: NewAppInput): Promise<AppWithSecret> {
    const id = input.id ?? `app-${randomBytes(4).toString('hex')}`
    return this.#audited('app.create', { appId: id, target: id }, () => {
      if (this.#scope !== null) this.#forbidden('an app-scoped token cannot create apps')
      if (!APP_ID_PATTERN.test(id)) {
        throw new GatewayError('FC_ERR_APP_INVALID', `App id "${id}" is invalid: ${APP_ID_RULE}`)
      }
      const app = this.#store.apps.create(
        appSchema.parse({
          id,
          key: randomBytes(10).toString('hex'),
          secret: generateSecret(),
          clientEvents: input.clientEvents ?? false,
        }),
      )
      return { ...this.#view(app), secret: app.secret }
    })
  }

  async rotateAppSecret(id: string): Promise<AppWithSecret> {
    return this.#audited('app.rotate-secret', { appId: id, target: id }, () => {
      this.#unmanaged(this.#app(id))
      const app = this.#store.apps.setSecret(id, generateSecret())
      return { ...this.#view(app), secret: app.secret }
    })
  }

  async setAppEnabled(id: string, enabled: boolean): Promise<AppView> {
    return this.#audited(enabled ? 'app.enable' : 'app.disable', { appId: id, target: id }, () => {
      this.#unmanaged(this.#app(id))
      return this.#view(this.#store.apps.setEnabled(id, enabled))
    })
  }

  async listDevices(filter: DeviceFilter): Promise<Device[]> {
    return this.#store.devices.list({ ...filter, appId: this.#scopedAppId(filter.appId) })
  }

  async showDevice(id: string): Promise<Device> {
    return this.#device(id)
  }

  async addDevice(input: NewDeviceInput): Promise<DeviceWithSecret> {
    const facts = { appId: input.appId ?? this.#scope, target: input.id }
    const detail = { name: input.name, tags: input.tags, acl: input.acl }
    return this.#audited(
      'device.add',
      { ...facts, detail },
      () => {
        const appId = this.#scopedAppId(input.appId)
        const { device, secret } = provisionDevice(this.#store, { ...input, appId })
        return { ...device, secret }
      },
      (device) => ({ appId: device.appId }),
    )
  }

  async rotateDevice(id: string, overlapSeconds: number): Promise<DeviceWithSecret> {
    return this.#deviceChange('device.rotate', id, { overlapSeconds }, () => {
      const { device, secret } = rotateDevice(this.#store, id, overlapSeconds)
      return { ...device, secret }
    })
  }

  async revokeDevice(id: string): Promise<Device> {
    return this.#deviceChange('device.revoke', id, undefined, () => revokeDevice(this.#store, id))
  }

  async setDeviceEnabled(id: string, enabled: boolean): Promise<Device> {
    const action = enabled ? 'device.enable' : 'device.disable'
    return this.#deviceChange(action, id, undefined, () =>
      setDeviceEnabled(this.#store, id, enabled),
    )
  }

  async kickDevice(id: string): Promise<Device> {
    return this.#deviceChange('device.kick', id, undefined, () => this.#store.devices.kick(id))
  }

  async createToken(input: NewTokenInput): Promise<TokenWithBearer> {
    const detail = {
      kind: input.kind,
      grants: input.grants,
      userId: input.userId,
      label: input.label,
      ttlSeconds: input.ttlSeconds,
    }
    return this.#audited(
      'token.create',
      { appId: input.appId ?? this.#scope, detail },
      () => {
        const appId = this.#tokenAppId(input)
        const { token, bearer } = this.#store.tokens.create({
          kind: input.kind,
          appId,
          grants: input.grants,
          userId: input.userId,
          label: input.label,
          expiresAt: expiry(input.ttlSeconds),
        })
        return { ...token, token: bearer }
      },
      (token) => ({ appId: token.appId, target: token.id }),
    )
  }

  async listTokens(filter: {
    kind?: TokenKind | undefined
    appId?: string | undefined
  }): Promise<Token[]> {
    return this.#store.tokens.list({ ...filter, appId: this.#scopedAppId(filter.appId) })
  }

  async revokeToken(id: string): Promise<Token> {
    const facts = { appId: this.#store.tokens.find(id)?.appId, target: id }
    return this.#audited('token.revoke', facts, () => {
      const token = this.#store.tokens.get(id)
      if (!this.#covers(token.appId)) this.#forbidden(`token "${id}" is outside this scope`)
      return this.#store.tokens.revoke(id)
    })
  }

  async createClaim(input: NewClaimInput): Promise<ClaimWithSecret> {
    const detail = {
      uses: input.uses,
      tags: input.tags,
      label: input.label,
      ttlSeconds: input.ttlSeconds,
    }
    return this.#audited(
      'claim.create',
      { appId: input.appId ?? this.#scope, detail },
      () => {
        refuseIf('FC_ERR_CLAIM_INVALID', claimProblems(input))
        const app = resolveApp(this.#store, this.#scopedAppId(input.appId))
        const { claim, secret } = this.#store.claims.create({
          appId: app.id,
          tags: input.tags,
          label: input.label,
          uses: input.uses,
          expiresAt: expiry(input.ttlSeconds),
        })
        return { ...claim, claim: secret }
      },
      (claim) => ({ appId: claim.appId, target: claim.id }),
    )
  }

  async listClaims(filter: { appId?: string | undefined }): Promise<Claim[]> {
    return this.#store.claims.list({ appId: this.#scopedAppId(filter.appId) })
  }

  async revokeClaim(id: string): Promise<Claim> {
    const facts = { appId: this.#store.claims.find(id)?.appId, target: id }
    return this.#audited('claim.revoke', facts, () => {
      const claim = this.#store.claims.get(id)
      if (!this.#covers(claim.appId)) this.#forbidden(`claim "${id}" is outside this scope`)
      return this.#store.claims.revoke(id)
    })
  }

  async audit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.#store.audit.query({ ...query, appId: this.#scopedAppId(query.appId) })
  }

  #covers(appId: string | null): boolean {
    return this.#scope === null || appId === this.#scope
  }

  #forbidden(reason: string): never {
    throw new GatewayError('FC_ERR_FORBIDDEN', `Not allowed: ${reason} (scope: app ${this.#scope})`)
  }

  /** The app a filter or input names, defaulting to the scope; another app is forbidden. */
  #scopedAppId(appId: string | undefined): string | undefined {
    if (!this.#covers(appId ?? this.#scope)) this.#forbidden(`app "${appId}" is outside this scope`)
    return appId ?? this.#scope ?? undefined
  }

  #app(id: string): App {
    const app = this.#store.apps.get(id)
    if (!this.#covers(app.id)) this.#forbidden(`app "${id}" is outside this scope`)
    return app
  }

  #device(id: string): Device {
    const device = this.#store.devices.get(id)
    if (!this.#covers(device.appId)) this.#forbidden(`device "${id}" is outside this scope`)
    return device
  }

  #unmanaged(app: App): void {
    if (!this.#configured.has(app.id)) return
    throw new GatewayError(
      'FC_ERR_APP_MANAGED_BY_CONFIG',
      `App "${app.id}" is defined under apps[] in the config file: change it there and restart`,
    )
  }

  #view(app: App): AppView {
    return {
      id: app.id,
      key: app.key,
      enabled: app.enabled,
      clientEvents: app.clientEvents,
      managedByConfig: this.#configured.has(app.id),
      deviceCount: this.#store.apps.deviceCount(app.id),
    }
  }

  /** Validates a token request and settles its app: null for an all-app admin token. */
  #tokenAppId(input: NewTokenInput): string | null {
    refuseIf('FC_ERR_TOKEN_INVALID', tokenProblems(input))
    if (input.kind === 'viewer') {
      return resolveApp(this.#store, this.#scopedAppId(input.appId ?? undefined)).id
    }
    const appId = input.appId ?? null
    if (!this.#covers(appId)) {
      this.#forbidden(
        appId === null ? 'an app-scoped token cannot create all-app tokens' : `app "${appId}"`,
      )
    }
    if (appId !== null) this.#store.apps.get(appId)
    return appId
  }

  /** A change that must end the device's live session, which the gateway is told about. */
  #deviceChange<T extends Device>(
    action: string,
    id: string,
    detail: Record<string, unknown> | undefined,
    change: () => T,
  ): T {
    const facts = { appId: this.#store.devices.find(id)?.appId, target: id, detail }
    const result = this.#audited(action, facts, () => {
      this.#device(id)
      return change()
    })
    this.#onDeviceChanged(id)
    return result
  }

  /**
   * Runs one change and records it, or its refusal (result = the error code). `facts` are known
   * up front; `settled` adds what only the result tells (the app a default resolved to).
   */
  #audited<T>(
    action: string,
    facts: AuditFacts,
    change: () => T,
    settled?: (result: T) => AuditFacts,
  ): T {
    const record = (result: string, more: AuditFacts = {}) =>
      this.#store.audit.record({ actor: this.#actor, action, result, ...facts, ...more })
    let result: T
    try {
      result = change()
    } catch (error) {
      record(GatewayError.is(error) ? error.code : 'FC_ERR_INTERNAL')
      throw error
    }
    record('ok', settled?.(result))
    return result
  }
}
