import { attributeProblem, type ChannelInfo } from '../../channels/channel-info.js'
import { type EventRequest, parseBatch, parseEvent, parseJson } from '../event-request.js'
import { HttpError } from '../http-error.js'
import type { RestContext, RestHandler } from './context.js'

function quotaError(app: { id: string; maxMessagesPerDay: number | null }): HttpError {
  return new HttpError(
    403,
    `App ${app.id} has used its daily quota of ${app.maxMessagesPerDay} messages`,
  )
}

/** Publishes one event to each of its channels; false when the quota ran out on the way. */
async function publish(context: RestContext, appId: string, event: EventRequest): Promise<boolean> {
  for (const channel of event.channels) {
    const published = await context.channels.trigger({
      appId,
      channel,
      event: event.name,
      data: event.data,
      exceptSocketId: event.socketId,
    })
    if (!published) return false
    context.meter.messageIn('rest')
  }
  return true
}

/** The `info` answer for one event: one entry per channel, with the attributes it allows. */
async function infoFor(
  context: RestContext,
  appId: string,
  event: EventRequest,
): Promise<Record<string, ChannelInfo>> {
  const result: Record<string, ChannelInfo> = {}
  for (const channel of event.channels) {
    const attributes = event.info.filter(
      (attribute) => attributeProblem(channel, attribute) === undefined,
    )
    const { occupied: _occupied, ...info } = await context.info.describe(appId, channel, attributes)
    result[channel] = info
  }
  return result
}

/** POST /apps/{id}/events (§11.2). */
export const triggerEvent: RestHandler = async (context, { app, body }) => {
  const event = parseEvent(parseJson(body), context.maxDataBytes)
  if (!context.channels.withinQuota(app.id, event.channels.length)) throw quotaError(app)
  if (!(await publish(context, app.id, event))) throw quotaError(app)
  return event.info.length > 0 ? { channels: await infoFor(context, app.id, event) } : {}
}

/** POST /apps/{id}/batch_events (§11.2): `batch` answers index-aligned when any item asks for info. */
export const triggerBatch: RestHandler = async (context, { app, body }) => {
  const events = parseBatch(parseJson(body), context.maxDataBytes)
  if (!context.channels.withinQuota(app.id, events.length)) throw quotaError(app)
  for (const event of events) {
    if (!(await publish(context, app.id, event))) throw quotaError(app)
  }
  if (!events.some((event) => event.info.length > 0)) return {}
  const batch = []
  for (const event of events) {
    const channel = event.channels[0] ?? ''
    batch.push(
      event.info.length > 0 ? ((await infoFor(context, app.id, event))[channel] ?? {}) : {},
    )
  }
  return { batch }
}

/** How many channel publishes a request asks for: the unit of the backend rate limit. */
export function triggerCost(path: 'events' | 'batch_events', body: Buffer): number {
  try {
    const value = JSON.parse(body.toString('utf8')) as { channels?: unknown; batch?: unknown }
    if (path === 'batch_events') return Array.isArray(value.batch) ? value.batch.length : 1
    return Array.isArray(value.channels) ? value.channels.length : 1
  } catch {
    return 1
  }
}
