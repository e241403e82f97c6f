import { PusherCode } from '../../errors/pusher-codes.js'
import { Events } from '../protocol.js'
import { handleClientEvent } from './client-event.js'
import type { FrameHandler } from './context.js'
import { handlePing, handlePong } from './ping.js'
import { handleSignin } from './signin.js'
import { handleSubscribe } from './subscribe.js'
import { handleUnsubscribe } from './unsubscribe.js'

const handlers: Record<string, FrameHandler> = {
  [Events.Ping]: handlePing,
  [Events.Pong]: handlePong,
  [Events.Subscribe]: handleSubscribe,
  [Events.Unsubscribe]: handleUnsubscribe,
  [Events.Signin]: handleSignin,
}

/** One handler per client message type (pusher-protocol §3.2). */
export const dispatchFrame: FrameHandler = (connection, frame, context) => {
  const handler = handlers[frame.event]
  if (handler) return handler(connection, frame, context)
  if (frame.event.startsWith('client-')) return handleClientEvent(connection, frame, context)
  connection.sendError(
    PusherCode.InvalidMessage,
    `Unsupported event "${frame.event.slice(0, 100)}"`,
  )
}
