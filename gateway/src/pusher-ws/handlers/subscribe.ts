import type { PresenceMember } from '../../adapter/adapter.js'
import { verifyChannelAuth } from '../../auth/channel-signature.js'
import type { SubscribeResult } from '../../channels/channels.js'
import {
  channelKind,
  isPresence,
  requiresChannelAuth,
  SERVER_TO_USER_PREFIX,
} from '../../domain/channel.js'
import { isValidChannelName, MAX_CHANNEL_NAME_LENGTH } from '../../domain/names.js'
import { PusherCode } from '../../errors/pusher-codes.js'
import type { PusherConnection } from '../connection.js'
import { parseChannelData, rosterData } from '../presence-member.js'
import { type ClientFrame, dataField, Events } from '../protocol.js'
import type { FrameHandler } from './context.js'

/** Why a subscription failed, as Echo's `.error()` receives it (pusher-protocol §3.3). */
interface Refusal {
  type: string
  error: string
  status: number
}

const refuse = (type: string, status: number, error: string): Refusal => ({ type, error, status })

function validName(channel: string): boolean {
  // `#server-to-user-{id}`: the id is any non-empty string (§0.15); ownership is checked below.
  if (channel.startsWith(SERVER_TO_USER_PREFIX)) {
    return (
      channel.length > SERVER_TO_USER_PREFIX.length && channel.length <= MAX_CHANNEL_NAME_LENGTH
    )
  }
  return isValidChannelName(channel)
}

/** Checks the signature and works out the presence member; returns a refusal when either fails. */
function authorize(
  connection: PusherConnection,
  frame: ClientFrame,
  channel: string,
  maxMemberBytes: number,
): PresenceMember | undefined | Refusal {
  const kind = channelKind(channel)
  if (kind === 'server-to-user') {
    const userId = channel.slice(SERVER_TO_USER_PREFIX.length)
    return connection.user?.id === userId
      ? undefined
      : refuse('AuthError', 403, `Sign in as ${userId} to subscribe to ${channel}`)
  }
  if (!requiresChannelAuth(kind)) return undefined
  const auth = dataField(frame, 'auth')
  const channelData = dataField(frame, 'channel_data')
  const signed = typeof channelData === 'string' ? channelData : undefined
  // §9: signed over socket_id:channel:channel_data when channel_data is present, else socket_id:channel.
  if (
    typeof auth !== 'string' ||
    !verifyChannelAuth(connection.app, connection.socketId, channel, auth, signed)
  ) {
    return refuse('AuthError', 401, `Invalid signature for ${channel}`)
  }
  if (!isPresence(kind)) return undefined
  if (signed !== undefined) {
    const member = parseChannelData(signed, maxMemberBytes)
    return typeof member === 'string' ? refuse('InvalidChannelData', 400, member) : member
  }
  // §6.2: without channel_data a signed-in socket joins as its user.
  if (connection.user) return { userId: connection.user.id, userInfo: connection.user.userInfo }
  return refuse('AuthError', 401, `${channel} needs channel_data or a signed-in user`)
}

function isRefusal(value: PresenceMember | undefined | Refusal): value is Refusal {
  return value !== undefined && 'status' in value
}

function confirm(
  connection: PusherConnection,
  channel: string,
  member: PresenceMember | undefined,
  result: SubscribeResult,
): void {
  if (!result.ok) return
  connection.channels.set(channel, member?.userId)
  connection.sendEvent(
    Events.SubscriptionSucceeded,
    result.roster ? rosterData(result.roster) : {},
    channel,
  )
  if (result.cached === null) connection.sendEvent(Events.CacheMiss, undefined, channel)
  else if (result.cached) {
    connection.send(
      JSON.stringify({ event: result.cached.event, channel, data: result.cached.data }),
    )
  }
}

/** pusher-protocol §6.1: validate the name, authorise by kind, join, confirm, replay the cache. */
export const handleSubscribe: FrameHandler = async (connection, frame, { channels, limits }) => {
  const channel = dataField(frame, 'channel')
  if (typeof channel !== 'string') {
    connection.sendError(
      PusherCode.InvalidMessage,
      'pusher:subscribe needs data.channel as a string',
    )
    return
  }
  const fail = (refusal: Refusal) =>
    connection.sendEvent(Events.SubscriptionError, refusal, channel)
  if (!validName(channel)) {
    fail(
      refuse(
        'InvalidChannelName',
        400,
        `Channel names are 1-${MAX_CHANNEL_NAME_LENGTH} characters from A-Z a-z 0-9 _ - = @ , . ;`,
      ),
    )
    return
  }
  const member = authorize(connection, frame, channel, limits.maxPresenceMemberBytes)
  if (isRefusal(member)) {
    fail(member)
    return
  }
  // One socket is one presence member per channel: joining again as someone else is refused.
  const joinedAs = connection.channels.get(channel)
  if (member && joinedAs !== undefined && joinedAs !== member.userId) {
    fail(
      refuse(
        'AlreadySubscribed',
        400,
        `Already in ${channel} as user ${joinedAs}; unsubscribe first`,
      ),
    )
    return
  }
  const result = await channels.subscribe(connection, channel, member, (joined) =>
    confirm(connection, channel, member, joined),
  )
  if (!result.ok && result.reason === 'member-limit') {
    fail(refuse('LimitReached', 403, `${channel} already has ${limits.maxPresenceMembers} members`))
  }
}
