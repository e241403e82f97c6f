import { Aedes, type AedesPublishPacket, type Client, type ConnectPacket } from 'aedes'
import type { LifecycleListener } from '../domain/lifecycle.js'
import type { Meter } from '../domain/meter.js'
import type { Logger } from '../log.js'
import type { DeviceCredentials } from '../store/device-repository.js'
import { createAuthenticate } from './authenticate.js'
import { createAuthorizers } from './authorize.js'
import type { DeviceSession, DeviceSessions } from './device-sessions.js'

export interface DeviceBrokerOptions {
  log: Logger
  meter: Meter
  findCredentials(deviceId: string): DeviceCredentials | undefined
  /** Called once per accepted device publish; must stay cheap (it runs in aedes' `published`). */
  onDevicePublish(session: DeviceSession, packet: AedesPublishPacket): void
  /** Told when an authenticated device connects and disconnects. */
  onLifecycle?: LifecycleListener | undefined
}

/** aedes with device authentication, the default ACL and the uplink tap. */
export async function createDeviceBroker(options: DeviceBrokerOptions): Promise<Aedes> {
  const { log } = options
  const sessions: DeviceSessions = new WeakMap()
  const { authorizePublish, authorizeSubscribe } = createAuthorizers(sessions, options.meter)
  const broker = await Aedes.createBroker({
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
    }),
    authorizePublish,
    authorizeSubscribe,
    // One frozen subscriber must not stall delivery to everyone else (iot-anchors §1.7).
    drainTimeout: 30_000,
    published(
      packet: AedesPublishPacket,
      client: Client | null,
      done: (error?: Error | null) => void,
    ) {
      const session = client ? sessions.get(client) : undefined
      if (session) {
        try {
          options.onDevicePublish(session, packet)
        } catch (error) {
          log.error({ err: error, topic: packet.topic }, 'uplink failed')
        }
      }
      done(null)
    },
  })
  broker.on('clientReady', (client: Client) => {
    const session = sessions.get(client)
    if (session) options.onLifecycle?.({ name: 'device_connected', ...session })
  })
  broker.on('clientDisconnect', (client: Client) => {
    const session = sessions.get(client)
    if (session) options.onLifecycle?.({ name: 'device_disconnected', ...session })
  })
  broker.on('clientError', (client: Client, error: Error) => {
    log.debug({ clientId: client.id, err: error }, 'mqtt client error')
  })
  broker.on('connectionError', (client: Client, error: Error) => {
    log.debug({ clientId: client.id, err: error }, 'mqtt connection error')
  })
  return broker
}

function remoteAddressOf(client: Client): string | undefined {
  const conn = client.conn as { remoteAddress?: string }
  return conn.remoteAddress
}
