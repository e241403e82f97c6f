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

/** Tag keys appear in viewer grants (`tag:<key>=<value>`), `--tag key=value` and query strings. */
const TAG_KEY_PATTERN = /^[A-Za-z0-9_.:/-]{1,64}$/
const MAX_TAG_VALUE_LENGTH = 256
const MAX_TAGS = 50
export const MAX_NAME_LENGTH = 128
// Control characters would corrupt terminal tables, CSV exports and log lines.
const CONTROL_CHARACTER = /\p{Cc}/u

/** One sentence per problem with a free-text field (name, label, tag value); none when fine. */
export function textProblems(field: string, value: string, maxLength: number): string[] {
  if (value.length > maxLength) return [`${field} is longer than ${maxLength} characters`]
  if (CONTROL_CHARACTER.test(value)) return [`${field} contains a control character`]
  return []
}

/** Problems with one tag, one sentence each; none when it is fine. */
export function tagEntryProblems(field: string, key: string, value: string): string[] {
  if (!TAG_KEY_PATTERN.test(key)) {
    return [
      `${field}: tag key "${key.slice(0, 80)}" must be 1-64 characters from A-Z a-z 0-9 _ . : / -`,
    ]
  }
  return textProblems(`${field}.${key}`, value, MAX_TAG_VALUE_LENGTH)
}

/** Problems with a set of device tags (or a claim's tags), one sentence each. */
export function tagProblems(tags: Record<string, string>, field = 'tags'): string[] {
  const entries = Object.entries(tags)
  if (entries.length > MAX_TAGS) return [`${field} holds more than ${MAX_TAGS} tags`]
  return entries.flatMap(([key, value]) => tagEntryProblems(field, key, value))
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
  const problems = [
    ...(request.name === undefined ? [] : textProblems('name', request.name, MAX_NAME_LENGTH)),
    ...tagProblems(request.tags ?? {}),
    ...(request.acl ? aclProblems(request.acl) : []),
  ]
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
