import type { AuthenticateError, Client } from 'aedes'
import { verifySecret } from '../auth/secret-hash.js'
import type { Meter } from '../domain/meter.js'
import { ConnackCode, type ConnackCodeValue } from '../errors/mqtt-codes.js'
import type { Logger } from '../log.js'
import type { DeviceCredentials } from '../store/device-repository.js'
import type { DeviceSessions } from './device-sessions.js'

export interface AuthenticateDeps {
  meter: Meter
  findCredentials(deviceId: string): DeviceCredentials | undefined
  sessions: DeviceSessions
  log: Logger
}

type Done = (error: AuthenticateError | null, success: boolean | null) => void

function refusal(code: ConnackCodeValue, message: string): AuthenticateError {
  // aedes turns returnCode into the CONNACK return code.
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError
}

/**
 * Device identity (ARCHITECTURE.md): username = device id, password = secret, client id = device
 * id. The scrypt check runs on the thread pool, off the event loop.
 */
export function createAuthenticate(deps: AuthenticateDeps) {
  return (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: Done,
  ): void => {
    const log = deps.log.child({ clientId: client.id })
    const refuse = (code: ConnackCodeValue, reason: string): void => {
      log.info({ username, returnCode: code }, `refused: ${reason}`)
      deps.meter.rejected(`mqtt_connack_${code}`)
      done(refusal(code, reason), false)
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
    if (!credentials.device.enabled) {
      refuse(ConnackCode.NotAuthorized, 'device disabled')
      return
    }
    verifySecret(password.toString('utf8'), credentials.secretHash).then(
      (ok) => {
        if (!ok) {
          refuse(ConnackCode.BadUsernameOrPassword, 'wrong secret')
          return
        }
        deps.sessions.set(client, {
          deviceId: credentials.device.id,
          appId: credentials.device.appId,
        })
        done(null, true)
      },
      (error: unknown) => {
        log.error({ err: error }, 'secret verification failed')
        refuse(ConnackCode.ServerUnavailable, 'server unavailable')
      },
    )
  }
}
