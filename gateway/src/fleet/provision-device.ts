import { issueSecret } from '../auth/secret-hash.js'
import type { App } from '../domain/app.js'
import type { Device } from '../domain/device.js'
import { aclProblems, type DeviceAcl } from '../domain/device-acl.js'
import { GatewayError } from '../errors/gateway-error.js'
import { assertDeviceId } from '../store/device-repository.js'
import type { Store } from '../store/open-store.js'

export interface ProvisionRequest {
  id: string
  /** May be left out while the store holds exactly one app. */
  appId?: string | undefined
  name?: string | undefined
  tags?: Record<string, string> | undefined
  /** Topic filters with `${deviceId}` placeholders; the default contract when absent. */
  acl?: DeviceAcl | undefined
}

export interface ProvisionedDevice {
  device: Device
  /** Shown once; only its hash is stored. */
  secret: string
}

/** Picks the app a command means: the one named, or the only one there is. */
export function resolveApp(store: Store, appId: string | undefined): App {
  if (appId !== undefined) {
    const app = store.apps.findById(appId)
    if (!app) throw new GatewayError('FC_ERR_APP_NOT_FOUND', `App "${appId}" does not exist`)
    return app
  }
  const apps = store.apps.list()
  const [only] = apps
  if (apps.length === 1 && only) return only
  if (apps.length === 0) {
    throw new GatewayError(
      'FC_ERR_APP_NOT_FOUND',
      'No app exists yet: start the gateway once or add one under apps[] in the config',
    )
  }
  throw new GatewayError(
    'FC_ERR_APP_REQUIRED',
    `Several apps exist (${apps.map((a) => a.id).join(', ')}); pass --app <appId>`,
  )
}

export function provisionDevice(store: Store, request: ProvisionRequest): ProvisionedDevice {
  assertDeviceId(request.id)
  const problems = request.acl ? aclProblems(request.acl) : []
  if (problems.length > 0) throw new GatewayError('FC_ERR_DEVICE_INVALID', problems.join('; '))
  const app = resolveApp(store, request.appId)
  if (store.devices.find(request.id)) {
    throw new GatewayError('FC_ERR_DEVICE_EXISTS', `Device "${request.id}" already exists`)
  }
  const { secret, hash } = issueSecret()
  const device = store.devices.add({
    id: request.id,
    appId: app.id,
    name: request.name,
    tags: request.tags,
    acl: request.acl,
    secretHash: hash,
  })
  return { device, secret }
}
