import { verifyChannelAuth } from '../../auth/channel-signature.js'
import { channelKind, requiresChannelAuth } from '../../domain/channel.js'
import { isValidChannelName, MAX_CHANNEL_NAME_LENGTH } from '../../domain/names.js'
import { PusherCode } from '../../errors/pusher-codes.js'
import type { PusherConnection } from '../connection.js'
import { Events } from '../protocol.js'
import type { FrameHandler } from './context.js'

/** Kinds whose semantics (presence roster, cache replay, user streams) this edge does not serve yet. */
const NOT_YET_SERVED = new Set([
  'presence',
  'presence-cache',
  'cache',
  'private-cache',
  'private-encrypted-cache',
  'server-to-user',
])

function subscriptionError(
  connection: PusherConnection,
  channel: string,
  type: string,
  error: string,
  status: number,
): void {
  connection.sendEvent(Events.SubscriptionError, { type, error, status }, channel)
}

function field(data: unknown, name: string): unknown {
  return typeof data === 'object' && data !== null
    ? (data as Record<string, unknown>)[name]
    : undefined
}

/** pusher-protocol §6.1: validate the name, authorise by kind, join, confirm. */
export const handleSubscribe: FrameHandler = (connection, frame, { hub }) => {
  const channel = field(frame.data, 'channel')
  if (typeof channel !== 'string') {
    connection.sendError(
      PusherCode.InvalidMessage,
      'pusher:subscribe needs data.channel as a string',
    )
    return
  }
  if (!isValidChannelName(channel)) {
    subscriptionError(
      connection,
      channel,
      'InvalidChannelName',
      `Channel names are 1-${MAX_CHANNEL_NAME_LENGTH} characters from A-Z a-z 0-9 _ - = @ , . ;`,
      400,
    )
    return
  }
  const kind = channelKind(channel)
  if (NOT_YET_SERVED.has(kind)) {
    subscriptionError(
      connection,
      channel,
      'UnsupportedChannel',
      `${kind} channels are not served by this gateway version`,
      501,
    )
    return
  }
  if (requiresChannelAuth(kind)) {
    const auth = field(frame.data, 'auth')
    const channelData = field(frame.data, 'channel_data')
    // pusher-protocol §9: a private subscription carrying channel_data is signed over it too.
    const signedData = typeof channelData === 'string' ? channelData : undefined
    if (
      typeof auth !== 'string' ||
      !verifyChannelAuth(connection.app, connection.socketId, channel, auth, signedData)
    ) {
      subscriptionError(connection, channel, 'AuthError', `Invalid signature for ${channel}`, 401)
      return
    }
  }
  if (hub.subscribe(connection.app.id, channel, connection)) connection.channels.add(channel)
  connection.sendEvent(Events.SubscriptionSucceeded, {}, channel)
}
