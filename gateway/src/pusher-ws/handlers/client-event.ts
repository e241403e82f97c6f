import { acceptsClientEvents, channelKind } from '../../domain/channel.js'
import { PusherCode } from '../../errors/pusher-codes.js'
import type { FrameHandler } from './context.js'

/** Pusher's limit on event names (pusher-protocol §5.2). */
export const MAX_EVENT_NAME_LENGTH = 200

/**
 * pusher-protocol §6.4: only when the app allows it, only on private and presence channels the
 * sender is subscribed to, within size and rate limits. Rejections are 4301 frames; the socket
 * stays open.
 */
export const handleClientEvent: FrameHandler = (connection, frame, { channels, limits, meter }) => {
  const reject = (message: string) => connection.sendError(PusherCode.ClientEventRejected, message)
  const channel = frame.channel
  if (!connection.app.clientEvents) return reject('Client events are not enabled for this app')
  if (channel === undefined) return reject('Client events need a channel')
  if (!acceptsClientEvents(channelKind(channel))) {
    return reject(`Client events are only allowed on private and presence channels, not ${channel}`)
  }
  if (!connection.channels.has(channel))
    return reject(`Subscribe to ${channel} before sending client events on it`)
  if (frame.event.length > MAX_EVENT_NAME_LENGTH) {
    return reject(`Client event names are at most ${MAX_EVENT_NAME_LENGTH} characters`)
  }
  const size = Buffer.byteLength(JSON.stringify(frame.rawData ?? null))
  if (size > limits.maxEventBytes)
    return reject(`Client event data is larger than ${limits.maxEventBytes} bytes`)
  if (!connection.takeClientEventToken(Date.now()))
    return reject('Client event rejected due to rate limit')
  const relayed = channels.relayClientEvent({
    appId: connection.appId,
    channel,
    event: frame.event,
    data: frame.rawData,
    exceptSocketId: connection.socketId,
    userId: connection.channels.get(channel),
  })
  if (relayed) meter.messageIn('pusher')
  else reject('Daily message quota exceeded for this app')
}
