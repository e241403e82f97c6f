import { attributeProblem } from '../../channels/channel-info.js'
import { channelKind, isPresence } from '../../domain/channel.js'
import { isValidChannelName } from '../../domain/names.js'
import { HttpError } from '../http-error.js'
import type { RestHandler } from './context.js'

function infoParam(query: URLSearchParams): string[] {
  return (query.get('info') ?? '').split(',').filter((part) => part.length > 0)
}

function channelParam(name: string | undefined): string {
  const channel = name ?? ''
  if (!isValidChannelName(channel))
    throw new HttpError(400, `Invalid channel name ${channel.slice(0, 200)}`)
  return channel
}

/** GET /apps/{id}/channels (§11.2): occupied channels only, always as an object (§0.10). */
export const listChannels: RestHandler = async (context, { app, query }) => {
  const prefix = query.get('filter_by_prefix') ?? ''
  const info = infoParam(query)
  for (const attribute of info) {
    if (attribute !== 'user_count')
      throw new HttpError(400, `info=${attribute} is not available on /channels`)
    if (!prefix.startsWith('presence-')) {
      throw new HttpError(400, 'info=user_count needs filter_by_prefix=presence-')
    }
  }
  const channels: Record<string, { user_count?: number }> = {}
  for (const [channel] of await context.info.occupied(app.id)) {
    if (!channel.startsWith(prefix) || channel.startsWith('#')) continue
    channels[channel] =
      info.length > 0 ? { user_count: await context.info.userCount(app.id, channel) } : {}
  }
  return { channels }
}

/** GET /apps/{id}/channels/{name}: `occupied` always, other attributes on request. */
export const describeChannel: RestHandler = async (context, { app, query, params }) => {
  const channel = channelParam(params[0])
  const info = infoParam(query)
  for (const attribute of info) {
    const problem = attributeProblem(channel, attribute)
    if (problem) throw new HttpError(400, problem)
  }
  return context.info.describe(app.id, channel, info)
}

/** GET /apps/{id}/channels/{name}/users: presence channels only. */
export const listUsers: RestHandler = async (context, { app, params }) => {
  const channel = channelParam(params[0])
  if (!isPresence(channelKind(channel)))
    throw new HttpError(400, 'Users are only available for presence channels')
  return { users: (await context.info.userIds(app.id, channel)).map((id) => ({ id })) }
}

/** POST /apps/{id}/users/{userId}/terminate_connections (§8). */
export const terminateUser: RestHandler = async (context, { app, params }) => {
  const userId = params[0] ?? ''
  if (userId.length === 0) throw new HttpError(400, 'A user id is required')
  context.terminateUser(app.id, userId)
  return {}
}
