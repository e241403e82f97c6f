import { PusherCode } from '../../errors/pusher-codes.js'
import { Events } from '../protocol.js'
import type { FrameHandler } from './context.js'
import { handlePing, handlePong } from './ping.js'
import { handleSubscribe } from './subscribe.js'
import { handleUnsubscribe } from './unsubscribe.js'

const handlers: Record<string, FrameHandler> = {
  [Events.Ping]: handlePing,
  [Events.Pong]: handlePong,
  [Events.Subscribe]: handleSubscribe,
  [Events.Unsubscribe]: handleUnsubscribe,
}

/** One handler per client message type (pusher-protocol §3.2). */
export const dispatchFrame: FrameHandler = (connection, frame, context) => {
  const handler = handlers[frame.event]
  if (handler) {
    handler(connection, frame, context)
    return
  }
  if (frame.event.startsWith('client-')) {
    connection.sendError(
      PusherCode.ClientEventRejected,
      'Client events are not served by this gateway version',
    )
    return
  }
  connection.sendError(
    PusherCode.InvalidMessage,
    `Unsupported event "${frame.event.slice(0, 100)}"`,
  )
}
