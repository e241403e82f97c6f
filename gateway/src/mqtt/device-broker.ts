import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import { Aedes, type AedesPublishPacket, type Client, type ConnectPacket } from 'aedes'
import type { Config } from '../config/schema.js'
import type { Meter } from '../domain/meter.js'
import type { Logger } from '../log.js'
import type { DeviceCredentials } from '../store/device-repository.js'
import { createAuthenticate, remoteAddressOf } from './authenticate.js'
import { createAuthorizers } from './authorize.js'
import type { ClaimProvisioning } from './claim-provisioning.js'
import { isClaimSession } from './claim-session.js'
import { createConformance } from './conformance/conformance.js'
import type { DevicePresence } from './device-presence.js'
import { type DeviceSession, DeviceSessions, isDeviceSession } from './device-sessions.js'
import type { LoginThrottle } from './login-throttle.js'
import { unblockWrites } from './unblocking-writes.js'

export interface DeviceBrokerOptions {
  log: Logger
  meter: Meter
  mqtt: Config['mqtt']
  findCredentials(deviceId: string): DeviceCredentials | undefined
  recordLoginFailure(
    deviceId: string | undefined,
    address: string | undefined,
    reason: string,
  ): void
  /** Called once per accepted device publish; must stay cheap (it runs in aedes' `published`). */
  onDevicePublish(session: DeviceSession, packet: AedesPublishPacket): void
  presence: DevicePresence
  /** Devices that hold only a claim ask for their credentials here (username `$claim`). */
  claims: ClaimProvisioning
  /** Failed logins per device and address; the HTTP claim route counts into the same one. */
  throttle: LoginThrottle
  /** aedes persistence; the in-memory default when absent. */
  persistence?: unknown
}

export interface DeviceBroker {
  aedes: Aedes
  sessions: DeviceSessions
  /**
   * Settles once every device connection has run its close handler (presence, last seen): a
   * socket reports its close a turn after aedes destroys it, and the store must still be open.
   */
  connectionsClosed(): Promise<void>
}

/** aedes with device authentication, the compiled ACLs, presence and the uplink tap. */
export async function createDeviceBroker(options: DeviceBrokerOptions): Promise<DeviceBroker> {
  const { log, mqtt } = options
  const sessions = new DeviceSessions()
  /** Device connections whose close handler has not run yet. */
  const open = new Set<Client['conn']>()
  const { authorizePublish, authorizeSubscribe, authorizeForward } = createAuthorizers(
    sessions,
    options.meter,
    mqtt.maxTopicLevels,
  )
  // MQTT 3.1.1 conformance: closes where aedes 1.2 departs from the spec (conformance/).
  const conformance = createConformance({
    maxPacketBytes: options.mqtt.maxPacketBytes,
    onViolation(reason, clientId) {
      options.meter.rejected('mqtt_protocol_violation')
      log.info({ clientId }, `closed: protocol violation, ${reason}`)
    },
    onRefused(returnCode, reason) {
      options.meter.rejected(`mqtt_connack_${returnCode}`)
      log.info({ returnCode }, `refused: ${reason}`)
    },
  })
  const aedes = await Aedes.createBroker({
    ...(options.persistence === undefined ? {} : { persistence: options.persistence }),
    preConnect(
      client: Client,
      packet: ConnectPacket,
      done: (error: Error | null, ok: boolean) => void,
    ) {
      if (packet.protocolVersion === 5) {
        // aedes 1.x answers CONNACK 1 (unacceptable protocol version) right after this hook.
        log.warn(
          { clientId: packet.clientId, remoteAddress: remoteAddressOf(client) },
          'refused an MQTT 5 CONNECT: this gateway speaks MQTT 3.1.1; set the client to protocol version 4',
        )
      }
      done(null, true)
    },
    authenticate: createAuthenticate({
      findCredentials: options.findCredentials,
      sessions,
      log,
      meter: options.meter,
      throttle: options.throttle,
      allowAnonymous: mqtt.allowAnonymous,
      recordFailure: options.recordLoginFailure,
      claimLogin: options.claims.login,
      onAuthenticated(client, session) {
        // Online from the moment the login is accepted, before aedes closes a connection it takes
        // over: the device never looks offline in between ([MQTT-3.1.4-2] takeover).
        sessions.markLive(client)
        options.presence.connected(session)
        const conn = client.conn
        open.add(conn)
        conn.once('close', () => {
          sessions.release(client)
          options.presence.disconnected(session)
          open.delete(conn)
        })
      },
    }),
    authorizePublish,
    authorizeSubscribe,
    authorizeForward: conformance.authorizeForward(authorizeForward),
    maxInflightInbound: mqtt.maxInflightInbound,
    // aedes' own cap (which closes the connection) stays at its maximum: the authorizers apply
    // mqtt.maxTopicLevels, so a too-deep subscription gets SUBACK 0x80 rather than a disconnect.
    maxTopicLevels: 100,
    published(
      packet: AedesPublishPacket,
      client: Client | null,
      done: (error?: Error | null) => void,
    ) {
      const session = sessions.get(client)
      if (isDeviceSession(session)) {
        try {
          options.presence.active(session)
          options.onDevicePublish(session, packet)
        } catch (error) {
          log.error({ err: error, topic: packet.topic }, 'uplink failed')
        }
      } else if (client && isClaimSession(session)) {
        // authorizePublish lets a claim connection publish its request topic and nothing else.
        options.claims.onRequest(client, session, packet)
      }
      done(null)
    },
  })
  // One frozen subscriber must not stall delivery to everyone else (iot-anchors §1.7): aedes
  // never sees a full buffer (unblocking-writes.ts). Wrapped before the conformance layer, so
  // this is the write aedes calls.
  const handle = aedes.handle
  aedes.handle = (stream, request) => {
    let client: Client | undefined
    unblockWrites(stream as Duplex, mqtt.drainTimeout * 1000, () => {
      log.info(
        { clientId: client?.id },
        `disconnected: its send buffer stayed full for mqtt.drainTimeout (${mqtt.drainTimeout} s)`,
      )
    })
    client = handle(stream, request)
    return client
  }
  conformance.install(aedes)
  aedes.on('clientError', (client: Client, error: Error) => {
    log.debug({ clientId: client.id, err: error }, 'mqtt client error')
  })
  aedes.on('connectionError', (client: Client, error: Error) => {
    log.debug({ clientId: client.id, err: error }, 'mqtt connection error')
  })
  return {
    aedes,
    sessions,
    // Listeners run in order: each of these settles after the connection's own close handler.
    connectionsClosed: async () => {
      await Promise.all([...open].map((conn) => once(conn, 'close')))
    },
  }
}
