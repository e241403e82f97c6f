import { z } from 'zod'
import { channelKind, isEncrypted, SERVER_TO_USER_PREFIX } from '../domain/channel.js'
import { isValidChannelName, MAX_CHANNEL_NAME_LENGTH } from '../domain/names.js'
import { SOCKET_ID_PATTERN } from '../domain/socket-id.js'
import { HttpError } from './http-error.js'

/** Pusher's per-request limits (pusher-protocol §5.2, §11.2). */
export const MAX_CHANNELS_PER_EVENT = 100
export const MAX_BATCH_EVENTS = 10
export const MAX_EVENT_NAME_LENGTH = 200
const INFO_ATTRIBUTES = ['user_count', 'subscription_count'] as const

/** `#server-to-user-{id}` takes any non-empty id (§0.15); other names follow the channel rules. */
function isTriggerableChannel(name: string): boolean {
  if (name.startsWith(SERVER_TO_USER_PREFIX)) {
    return name.length > SERVER_TO_USER_PREFIX.length && name.length <= MAX_CHANNEL_NAME_LENGTH
  }
  return isValidChannelName(name)
}

const channelName = z.string().refine(isTriggerableChannel, {
  message: `channel names are 1-${MAX_CHANNEL_NAME_LENGTH} characters from A-Z a-z 0-9 _ - = @ , . ;`,
})

const infoList = z
  .string()
  .transform((value) => value.split(',').filter((part) => part.length > 0))
  .refine((parts) => parts.every((p) => (INFO_ATTRIBUTES as readonly string[]).includes(p)), {
    message: `info may list ${INFO_ATTRIBUTES.join(', ')}`,
  })

const eventFields = {
  name: z.string().min(1).max(MAX_EVENT_NAME_LENGTH),
  data: z.string({ error: 'data must be a string (JSON-encode objects first)' }),
  socket_id: z.string().regex(SOCKET_ID_PATTERN, 'socket_id must look like 1234.5678').optional(),
  info: infoList.optional(),
}

const singleEvent = z.object({
  ...eventFields,
  channels: z.array(channelName).min(1).max(MAX_CHANNELS_PER_EVENT).optional(),
  channel: channelName.optional(),
})

const batchEvent = z.object({ ...eventFields, channel: channelName })

const batchRequest = z.object({
  batch: z
    .array(z.unknown())
    .min(1)
    .max(MAX_BATCH_EVENTS, `batch holds at most ${MAX_BATCH_EVENTS} events`),
})

export interface EventRequest {
  name: string
  data: string
  channels: string[]
  socketId?: string | undefined
  info: string[]
}

function describe(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0]
  const path = issue?.path.length ? `${prefix}${issue.path.join('.')}: ` : prefix
  return `${path}${issue?.message ?? 'invalid request'}`
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON')
  }
}

function checkData(data: string, maxBytes: number): void {
  // §11.2: oversize data is 413, which the node SDK exposes as RequestError.status.
  if (Buffer.byteLength(data) > maxBytes)
    throw new HttpError(413, `data is larger than ${maxBytes} bytes`)
}

/** POST /events body (§11.2): exactly one of `channels` / `channel`. */
export function parseEvent(body: unknown, maxDataBytes: number): EventRequest {
  const parsed = singleEvent.safeParse(body)
  if (!parsed.success) throw new HttpError(400, describe(parsed.error))
  const { name, data, channels, channel, socket_id, info } = parsed.data
  if ((channels === undefined) === (channel === undefined)) {
    throw new HttpError(400, 'Give exactly one of channels (1-100 names) or channel')
  }
  const list = [...new Set(channels ?? [channel as string])]
  // §10: an encrypted event is encrypted for one channel's key, so it cannot go to several.
  if (list.length > 1 && list.some((c) => isEncrypted(channelKind(c)))) {
    throw new HttpError(
      400,
      'An event for a private-encrypted- channel must name only that channel',
    )
  }
  checkData(data, maxDataBytes)
  return { name, data, channels: list, socketId: socket_id, info: info ?? [] }
}

/** POST /batch_events body: every item is checked and one bad item fails the whole request. */
export function parseBatch(body: unknown, maxDataBytes: number): EventRequest[] {
  const parsed = batchRequest.safeParse(body)
  if (!parsed.success) throw new HttpError(400, describe(parsed.error))
  return parsed.data.batch.map((item, index) => {
    const event = batchEvent.safeParse(item)
    if (!event.success) throw new HttpError(400, describe(event.error, `batch[${index}].`))
    checkData(event.data.data, maxDataBytes)
    const { name, data, channel, socket_id, info } = event.data
    return { name, data, channels: [channel], socketId: socket_id, info: info ?? [] }
  })
}
