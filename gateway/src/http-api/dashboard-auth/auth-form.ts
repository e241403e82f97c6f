import type { IncomingHttpHeaders } from 'node:http'
import { channelKind, requiresChannelAuth } from '../../domain/channel.js'
import { isValidChannelName, MAX_CHANNEL_NAME_LENGTH } from '../../domain/names.js'
import { SOCKET_ID_PATTERN } from '../../domain/socket-id.js'
import { HttpError } from '../http-error.js'

/** pusher-js sends two short fields plus any `params` the page adds; this is plenty. */
export const MAX_AUTH_BODY_BYTES = 8192

const FORM_TYPE = 'application/x-www-form-urlencoded'

/** One form field, present exactly once; a repeated field is ambiguous and refused. */
function single(form: URLSearchParams, field: string): string {
  const values = form.getAll(field)
  if (values.length === 0) throw new HttpError(400, `${field} is missing from the form body`)
  if (values.length > 1) throw new HttpError(400, `${field} is given ${values.length} times`)
  return values[0] as string
}

/**
 * The form body pusher-js posts (pusher-protocol §9): `socket_id`, and `channel_name` for channel
 * authorization. Other fields (pusher-js `params`) are ignored, as an app backend would.
 */
function readForm(headers: IncomingHttpHeaders, body: Buffer): URLSearchParams {
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== FORM_TYPE) {
    throw new HttpError(
      415,
      `Content-Type must be ${FORM_TYPE} (got ${type ? type.slice(0, 64) : 'none'})`,
    )
  }
  return new URLSearchParams(body.toString('utf8'))
}

function socketIdOf(form: URLSearchParams): string {
  const socketId = single(form, 'socket_id')
  // The server SDKs refuse to sign any other shape (§0.1), and so does the gateway.
  if (!SOCKET_ID_PATTERN.test(socketId)) {
    throw new HttpError(400, `socket_id "${socketId.slice(0, 64)}" must look like 1234.5678`)
  }
  return socketId
}

export interface ChannelAuthForm {
  socketId: string
  channelName: string
}

export function parseChannelAuthForm(headers: IncomingHttpHeaders, body: Buffer): ChannelAuthForm {
  const form = readForm(headers, body)
  const socketId = socketIdOf(form)
  const channelName = single(form, 'channel_name')
  if (!isValidChannelName(channelName)) {
    throw new HttpError(
      400,
      `channel_name must be 1-${MAX_CHANNEL_NAME_LENGTH} characters from A-Z a-z 0-9 _ - = @ , . ;`,
    )
  }
  if (!requiresChannelAuth(channelKind(channelName))) {
    throw new HttpError(
      400,
      `${channelName} is a public channel: subscribe without authorization (only private- and presence- channels are signed)`,
    )
  }
  return { socketId, channelName }
}

export function parseUserAuthForm(headers: IncomingHttpHeaders, body: Buffer): string {
  return socketIdOf(readForm(headers, body))
}
