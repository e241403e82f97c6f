import { verifyAnySecret } from '../../auth/secret-hash.js'
import { deviceOfChannel, grantsCover } from '../../auth/viewer-grants.js'
import type { App } from '../../domain/app.js'
import type { Device } from '../../domain/device.js'
import { DEVICE_ID_PATTERN } from '../../domain/names.js'
import type { DeviceCredentials } from '../../store/device-repository.js'
import type { TokenCheck } from '../../store/token-repository.js'
import { HttpError } from '../http-error.js'
import { type Credentials, challenge } from './credentials.js'

/** Who asks for a signature, resolved from its credentials at request time. */
export interface Principal {
  app: App
  /** What the principal may sign for, as refusals name it. */
  scope: string
  /** The presence member and signed-in user this principal is. */
  user: { id: string; info?: unknown }
  covers(channel: string): boolean
}

export interface PrincipalSources {
  findApp(id: string): App | undefined
  findDevice(id: string): Device | undefined
  findCredentials(id: string): DeviceCredentials | undefined
  checkToken(bearer: string): TokenCheck
}

/**
 * A 401. `guess` marks failures that could be someone trying credentials (an unknown token, a
 * wrong device secret); they count toward the login throttle. `deviceId` names the device whose
 * login failed, for the audit log.
 */
export class CredentialFailure extends HttpError {
  readonly guess: boolean
  readonly deviceId: string | undefined

  constructor(message: string, credentials: Credentials, guess: boolean) {
    super(401, message, {
      'www-authenticate': challenge(
        credentials.scheme,
        credentials.scheme === 'bearer' ? 'invalid_token' : undefined,
      ),
    })
    this.guess = guess
    this.deviceId = credentials.scheme === 'basic' ? credentials.deviceId : undefined
  }
}

function enabledApp(sources: PrincipalSources, appId: string | null): App {
  const app = appId === null ? undefined : sources.findApp(appId)
  if (!app) throw new HttpError(403, `App ${appId ?? '(none)'} does not exist`)
  if (!app.enabled) throw new HttpError(403, `App ${app.id} is disabled`)
  return app
}

function viewer(
  sources: PrincipalSources,
  credentials: Credentials & { scheme: 'bearer' },
): Principal {
  const checked = sources.checkToken(credentials.token)
  if (!checked.ok) {
    // Revoked and expired tokens were real once: presenting one again is not a guess.
    throw new CredentialFailure(
      checked.reason === 'unknown' ? 'Unknown token' : `The token is ${checked.reason}`,
      credentials,
      checked.reason === 'unknown',
    )
  }
  const { token } = checked
  if (token.kind !== 'viewer') {
    throw new HttpError(
      403,
      `Token ${token.id} is an ${token.kind} token; channel authorization takes a viewer token`,
    )
  }
  const app = enabledApp(sources, token.appId)
  return {
    app,
    scope: `the grants of token ${token.id} (${token.grants.join(', ') || 'none'})`,
    user: {
      id: token.userId ?? token.id,
      ...(token.label !== null ? { info: { name: token.label } } : {}),
    },
    covers: (channel: string) => grantsCover(token.grants, channel, app.id, sources.findDevice),
  }
}

async function device(
  sources: PrincipalSources,
  credentials: Credentials & { scheme: 'basic' },
): Promise<Principal> {
  const fail = (message: string) => new CredentialFailure(message, credentials, true)
  const found = DEVICE_ID_PATTERN.test(credentials.deviceId)
    ? sources.findCredentials(credentials.deviceId)
    : undefined
  if (!found) throw fail('Unknown device or wrong secret')
  const { device: own, secretHashes } = found
  // One message for an unknown device and a wrong secret: the answer does not confirm ids.
  if (!(await verifyAnySecret(credentials.secret, secretHashes))) {
    throw fail('Unknown device or wrong secret')
  }
  if (!own.enabled) throw new HttpError(403, `Device ${own.id} is disabled`)
  const app = enabledApp(sources, own.appId)
  return {
    app,
    scope: `the channels of device ${own.id} (private-device-${own.id} and its cache and encrypted variants)`,
    user: { id: own.id, info: { name: own.name, tags: own.tags } },
    covers: (channel) => deviceOfChannel(channel) === own.id,
  }
}

/** Resolves the credentials to a principal: 401 when they do not authenticate, 403 when disabled. */
export function resolvePrincipal(
  sources: PrincipalSources,
  credentials: Credentials,
): Promise<Principal> {
  return credentials.scheme === 'bearer'
    ? Promise.resolve().then(() => viewer(sources, credentials))
    : device(sources, credentials)
}
