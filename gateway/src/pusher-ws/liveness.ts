import { PusherCode } from '../errors/pusher-codes.js'
import type { PusherConnection } from './connection.js'

export interface LivenessOptions {
  /** Seconds, as announced in the handshake. */
  activityTimeout: number
  /** Seconds a pinged socket has to show any sign of life. */
  pongTimeout: number
}

/**
 * Server side of pusher-protocol §7: a socket silent for longer than the activity timeout (with
 * a quarter more, so the client's own ping normally comes first) gets a ping; one still silent
 * `pongTimeout` later is closed with 4201 so pusher-js reconnects at once. Any inbound frame,
 * including WebSocket ping and pong control frames, counts as life.
 */
export function startLivenessSweep(
  connections: Iterable<PusherConnection>,
  options: LivenessOptions,
): () => void {
  const idleMs = options.activityTimeout * 1250
  const pongMs = options.pongTimeout * 1000
  const every = Math.min(5000, Math.max(100, Math.min(idleMs, pongMs) / 4))
  const timer = setInterval(() => {
    const now = Date.now()
    for (const connection of connections) {
      if (connection.pingSentAt !== undefined) {
        if (now - connection.pingSentAt >= pongMs)
          connection.close(PusherCode.PongTimeout, 'Pong reply not received')
      } else if (now - connection.lastSeen >= idleMs) {
        connection.ping(now)
      }
    }
  }, every)
  timer.unref()
  return () => clearInterval(timer)
}
