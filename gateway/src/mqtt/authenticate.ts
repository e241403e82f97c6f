import type { AuthenticateError, Client } from 'aedes'
import { verifyAnySecret } from '../auth/secret-hash.js'
import { compileAcl, DEFAULT_ACL, OPEN_ACL } from '../domain/device-acl.js'
import type { Meter } from '../domain/meter.js'
import { ConnackCode, type ConnackCodeValue } from '../errors/mqtt-codes.js'
import type { Logger } from '../log.js'
import type { DeviceCredentials } from '../store/device-repository.js'
import type { ClaimLoginVerdict } from './claim-provisioning.js'
import { CLAIM_USERNAME } from './claim-session.js'
import type { DeviceSession, DeviceSessions } from './device-sessions.js'
import type { LoginThrottle } from './login-throttle.js'

export interface AuthenticateDeps {
  meter: Meter
  findCredentials(deviceId: string): DeviceCredentials | undefined
  sessions: DeviceSessions
  throttle: LoginThrottle
  allowAnonymous: boolean
  /** A device logged in; `session` is attached to the client by then. */
  onAuthenticated(client: Client, session: DeviceSession): void
  /** Writes a failed login to the audit table. */
  recordFailure(deviceId: string | undefined, address: string | undefined, reason: string): void
  /** Checks a login with username `$claim` (claim-provisioning.ts), which audits its refusals. */
  claimLogin(
    clientId: string,
    secret: string | undefined,
    clean: boolean,
    address: string | undefined,
  ): ClaimLoginVerdict
  log: Logger
}

type Done = (error: AuthenticateError | null, success: boolean | null) => void

function refusal(code: ConnackCodeValue, message: string): AuthenticateError {
  // aedes turns returnCode into the CONNACK return code.
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError
}

export function remoteAddressOf(client: Client): string | undefined {
  return (client.conn as { remoteAddress?: string }).remoteAddress
}

/**
 * Device identity (ARCHITECTURE.md): username = device id, password = secret, client id = device
 * id. Failed logins are throttled per device and per address and recorded.
 */
export function createAuthenticate(deps: AuthenticateDeps) {
  return (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: Done,
  ): void => {
    const log = deps.log.child({ clientId: client.id })
    const address = remoteAddressOf(client)
    const now = Date.now()
    // `$claim` is shared by a whole batch of devices: only its address can be banned.
    const deviceKey = username && username !== CLAIM_USERNAME ? `device:${username}` : undefined
    const refuse = (
      code: ConnackCodeValue,
      reason: string,
      countsAsFailure = true,
      auditedAlready = false,
    ): void => {
      log.info({ username, address, returnCode: code }, `refused: ${reason}`)
      deps.meter.rejected(`mqtt_connack_${code}`)
      if (countsAsFailure) {
        for (const key of [deviceKey, address && `address:${address}`]) {
          if (key && deps.throttle.fail(key, now) > 0)
            log.warn({ key }, 'too many failed logins: banned')
        }
        if (!auditedAlready) deps.recordFailure(username, address, reason)
      }
      done(refusal(code, reason), false)
    }
    if (!username && deps.allowAnonymous) {
      deps.sessions.attach(client, { anonymous: true, acl: OPEN_ACL })
      done(null, true)
      return
    }
    const banned = Math.max(
      deviceKey ? deps.throttle.bannedFor(deviceKey, now) : 0,
      address ? deps.throttle.bannedFor(`address:${address}`, now) : 0,
    )
    if (banned > 0) {
      refuse(ConnackCode.NotAuthorized, `too many failed logins, banned for ${banned} s`, false)
      return
    }
    if (username === CLAIM_USERNAME) {
      const verdict = deps.claimLogin(client.id, password?.toString('utf8'), client.clean, address)
      if (!verdict.ok) {
        refuse(verdict.returnCode, verdict.reason, verdict.guess, true)
        return
      }
      deps.sessions.attach(client, verdict.session)
      done(null, true)
      return
    }
    if (!username || !password) {
      refuse(ConnackCode.BadUsernameOrPassword, 'username and password are required')
      return
    }
    if (client.id !== username) {
      refuse(ConnackCode.IdentifierRejected, 'client id differs from the device id')
      return
    }
    const credentials = deps.findCredentials(username)
    if (!credentials) {
      refuse(ConnackCode.BadUsernameOrPassword, 'unknown device')
      return
    }
    const { device, secretHashes } = credentials
    if (!device.enabled) {
      refuse(ConnackCode.NotAuthorized, 'device disabled')
      return
    }
    if (device.revokedAt !== null || secretHashes.length === 0) {
      refuse(ConnackCode.NotAuthorized, 'device credentials revoked')
      return
    }
    verifyAnySecret(password.toString('utf8'), secretHashes).then(
      (ok) => {
        if (!ok) {
          refuse(ConnackCode.BadUsernameOrPassword, 'wrong secret')
          return
        }
        deps.throttle.succeed(`device:${username}`)
        const session: DeviceSession = {
          deviceId: device.id,
          appId: device.appId,
          name: device.name,
          tags: device.tags,
          acl: compileAcl(device.acl ?? DEFAULT_ACL, device.id),
          generation: deps.sessions.nextGeneration(),
          credentialStamp: device.updatedAt,
        }
        deps.sessions.attach(client, session)
        // The socket may have gone while the hash was checked; then there is nothing to join.
        if (!client.conn.destroyed) deps.onAuthenticated(client, session)
        done(null, true)
      },
      (error: unknown) => {
        log.error({ err: error }, 'secret verification failed')
        refuse(ConnackCode.ServerUnavailable, 'server unavailable', false)
      },
    )
  }
}
