import type { Duplex } from 'node:stream'
import type { Aedes, AedesPublishPacket, Client } from 'aedes'
import { type ConformingConnectionDeps, conformConnection } from './conforming-connection.js'
import { conformingPersistence, type SessionPersistence } from './conforming-persistence.js'
import { authorizeForward } from './forward-rules.js'
import { KnownSessions } from './known-sessions.js'

export type ConformanceOptions = Pick<
  ConformingConnectionDeps,
  'onViolation' | 'onRefused' | 'maxPacketBytes'
>

type ForwardHook = (client: Client, packet: AedesPublishPacket) => AedesPublishPacket | null

/**
 * Where aedes 1.2 departs from the normative statements of MQTT 3.1.1, the gateway closes the gap
 * in three thin places (docs/devices.md, "MQTT 3.1.1 conformance"):
 * - on the wire: `install(aedes)` makes every connection conform (`conformConnection`) before
 *   aedes reads it (it also refuses packets over mqtt.maxPacketBytes on their header);
 * - on delivery: `authorizeForward(hook)` wraps the gateway's own aedes hook (which decides whether
 *   a PUBLISH goes to a subscriber at all) with `forward-rules`;
 * - in the session store: `install(aedes)` wraps aedes' persistence with `conformingPersistence`.
 */
export function createConformance(options: ConformanceOptions) {
  const sessions = new KnownSessions()
  const deps = { ...options, sessions }
  return {
    authorizeForward(hook: ForwardHook): ForwardHook {
      return (client, packet) => {
        const allowed = hook(client, packet)
        return allowed && authorizeForward(client, allowed)
      }
    },
    install(aedes: Aedes): void {
      const handle = aedes.handle
      aedes.handle = (stream, request) => {
        conformConnection(stream as Duplex, deps, request?.socket.remoteAddress)
        return handle(stream, request)
      }
      // aedes reads `broker.persistence` at each use, so the wrapper takes effect at once.
      const broker = aedes as unknown as { persistence: SessionPersistence }
      broker.persistence = conformingPersistence(broker.persistence, sessions)
    },
  }
}
