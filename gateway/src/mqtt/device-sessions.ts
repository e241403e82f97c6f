import type { Client } from 'aedes'
import type { CompiledAcl } from '../domain/device-acl.js'
import type { ClaimSession } from './claim-session.js'

/** What the broker learned about a client at CONNECT; kept for the life of the connection. */
export interface DeviceSession {
  deviceId: string
  appId: string
  name: string | null
  tags: Record<string, string>
  acl: CompiledAcl
  /** Increases with every accepted connection, so a takeover is told apart from its predecessor. */
  generation: number
  /** The device's `updatedAt` when it logged in; a later change (revoke, rotate...) ends the session. */
  credentialStamp: number
}

/** An anonymous client (mqtt.allowAnonymous): any topic, no app, no bridge. */
export interface AnonymousSession {
  anonymous: true
  acl: CompiledAcl
}

/** A claim connection (claim-session.ts) is not a device yet: no presence, no bridge. */
export type ClientSession = DeviceSession | AnonymousSession | ClaimSession

export function isDeviceSession(session: ClientSession | undefined): session is DeviceSession {
  return session !== undefined && 'deviceId' in session
}

/** Sessions by aedes client (they can never outlive their connection) and the live client per device. */
export class DeviceSessions {
  readonly #byClient = new WeakMap<Client, ClientSession>()
  readonly #live = new Map<string, Client>()
  #generation = 0

  nextGeneration(): number {
    this.#generation += 1
    return this.#generation
  }

  attach(client: Client, session: ClientSession): void {
    this.#byClient.set(client, session)
  }

  get(client: Client | null | undefined): ClientSession | undefined {
    return client ? this.#byClient.get(client) : undefined
  }

  /** The connection is established; a takeover replaces its predecessor as the live one. */
  markLive(client: Client): void {
    const session = this.#byClient.get(client)
    if (isDeviceSession(session)) this.#live.set(session.deviceId, client)
  }

  /** The connection ended; it stops being the live one unless a newer one already is. */
  release(client: Client): void {
    const session = this.#byClient.get(client)
    if (isDeviceSession(session) && this.#live.get(session.deviceId) === client)
      this.#live.delete(session.deviceId)
  }

  liveClient(deviceId: string): Client | undefined {
    return this.#live.get(deviceId)
  }
}
