import type { IncomingMessage, ServerResponse } from 'node:http'
import type { App } from '../../domain/app.js'
import { channelKind, isEncrypted } from '../../domain/channel.js'
import type { Meter } from '../../domain/meter.js'
import type { Logger } from '../../log.js'
import { HttpError } from '../http-error.js'
import { sendJson } from '../http-handler.js'
import { readBody } from '../read-body.js'
import { channelAuthAnswer, userAuthAnswer } from './auth-answers.js'
import { MAX_AUTH_BODY_BYTES, parseChannelAuthForm, parseUserAuthForm } from './auth-form.js'
import { corsHeaders, type OriginRule, preflightHeaders } from './cors.js'
import { type Credentials, parseAuthorization } from './credentials.js'
import { CredentialFailure, type PrincipalSources, resolvePrincipal } from './principal.js'

/** pusher-js's default endpoints (pusher-protocol §8, §9), after the path prefix. */
export const CHANNEL_AUTH_PATH = '/pusher/auth'
export const USER_AUTH_PATH = '/pusher/user-auth'

/** Failed-login bookkeeping per key (`address:<ip>`, `device:<id>`), as MQTT logins use it. */
export interface FailureThrottle {
  bannedFor(key: string, now: number): number
  fail(key: string, now: number): number
  succeed(key: string): void
}

export interface DashboardAuthOptions {
  sources: PrincipalSources
  listApps(): App[]
  originAllowed: OriginRule
  throttle: FailureThrottle
  /** Writes a failed device login (wrong HTTP Basic credentials) to the audit log. */
  recordLoginFailure(deviceId: string, address: string | undefined, reason: string): void
  meter: Meter
  log: Logger
}

function throttleKeys(credentials: Credentials, address: string | undefined): string[] {
  return [
    ...(address ? [`address:${address}`] : []),
    ...(credentials.scheme === 'basic' ? [`device:${credentials.deviceId}`] : []),
  ]
}

/**
 * `POST /pusher/auth` and `POST /pusher/user-auth`: the auth endpoints a dashboard would otherwise
 * need a backend for. A viewer token (Bearer) or a device's own id and secret (Basic) stand in
 * for the backend's session; the answer is the standard Pusher auth JSON signed with the app
 * secret, so the WebSocket edge verifies it like any other.
 */
export function createDashboardAuth(options: DashboardAuthOptions) {
  const { throttle, log } = options

  const anyAppAllows = (origin: string) =>
    options
      .listApps()
      .some((app) => app.enabled && options.originAllowed(origin, app.allowedOrigins))

  function refuseBanned(credentials: Credentials, address: string | undefined, now: number): void {
    const banned = Math.max(
      0,
      ...throttleKeys(credentials, address).map((k) => throttle.bannedFor(k, now)),
    )
    if (banned > 0) {
      throw new HttpError(429, `Too many failed attempts; retry in ${banned} s`, {
        'retry-after': String(banned),
      })
    }
  }

  function countFailure(
    failure: CredentialFailure,
    credentials: Credentials,
    address: string | undefined,
    now: number,
  ): void {
    if (!failure.guess) return
    for (const key of throttleKeys(credentials, address)) {
      if (throttle.fail(key, now) > 0) log.warn({ key }, 'too many failed auth requests: banned')
    }
    if (failure.deviceId !== undefined) {
      options.recordLoginFailure(failure.deviceId, address, failure.message)
    }
  }

  /** Authenticates, checks the origin and the channel, and signs. `onApp` learns the app. */
  async function answer(
    request: IncomingMessage,
    pathname: string,
    onApp: (app: App) => void,
  ): Promise<unknown> {
    const address = request.socket.remoteAddress
    const now = Date.now()
    const credentials = parseAuthorization(request.headers.authorization)
    refuseBanned(credentials, address, now)
    const body = await readBody(request, MAX_AUTH_BODY_BYTES)
    const form =
      pathname === CHANNEL_AUTH_PATH
        ? parseChannelAuthForm(request.headers, body)
        : { socketId: parseUserAuthForm(request.headers, body), channelName: undefined }
    const principal = await resolvePrincipal(options.sources, credentials).catch(
      (error: unknown) => {
        if (error instanceof CredentialFailure) countFailure(error, credentials, address, now)
        throw error
      },
    )
    if (credentials.scheme === 'basic') throttle.succeed(`device:${credentials.deviceId}`)
    const { app } = principal
    onApp(app)
    const origin = request.headers.origin
    if (origin !== undefined && !options.originAllowed(origin, app.allowedOrigins)) {
      throw new HttpError(
        403,
        `Origin ${origin.slice(0, 200)} is not in the allowedOrigins of app ${app.id}`,
      )
    }
    const channel = form.channelName
    if (channel === undefined) return userAuthAnswer(principal, form.socketId)
    if (isEncrypted(channelKind(channel))) {
      // pusher-protocol §10: the shared secret comes from a master key the gateway never holds.
      throw new HttpError(
        403,
        `${channel} is an encrypted channel: its shared_secret must come from your own backend, which holds the encryption master key`,
      )
    }
    if (!principal.covers(channel)) {
      throw new HttpError(403, `${channel} is not among ${principal.scope}`)
    }
    return channelAuthAnswer(principal, form.socketId, channel)
  }

  function serve(request: IncomingMessage, response: ServerResponse, pathname: string): void {
    const origin = request.headers.origin
    if (request.method === 'OPTIONS') {
      if (origin !== undefined && !anyAppAllows(origin)) {
        sendJson(response, 403, {
          error: `Origin ${origin.slice(0, 200)} is not in the allowedOrigins of any app`,
        })
        return
      }
      response.writeHead(204, {
        allow: 'POST, OPTIONS',
        ...corsHeaders(origin, () => true),
        ...(origin !== undefined ? preflightHeaders(request.headers) : {}),
      })
      response.end()
      return
    }
    let app: App | undefined
    const cors = () =>
      corsHeaders(origin, (o) =>
        app ? options.originAllowed(o, app.allowedOrigins) : anyAppAllows(o),
      )
    if (request.method !== 'POST') {
      options.meter.rejected('auth_endpoint_405')
      request.resume()
      sendJson(
        response,
        405,
        { error: `${pathname} takes POST` },
        { allow: 'POST, OPTIONS', ...cors() },
      )
      return
    }
    answer(request, pathname, (known) => {
      app = known
    }).then(
      (body) => sendJson(response, 200, body, cors()),
      (error: unknown) => {
        if (error instanceof HttpError) {
          options.meter.rejected(`auth_endpoint_${error.status}`)
          log.debug({ status: error.status, path: pathname, reason: error.message }, 'auth refused')
          sendJson(
            response,
            error.status,
            { error: error.message },
            { ...error.headers, ...cors() },
          )
          return
        }
        log.error({ err: error, path: pathname }, 'auth request failed')
        sendJson(response, 500, { error: 'Internal error' }, cors())
      },
    )
  }

  /** Answers the two auth paths; returns false for any other path. */
  return (request: IncomingMessage, response: ServerResponse, pathname: string): boolean => {
    if (pathname !== CHANNEL_AUTH_PATH && pathname !== USER_AUTH_PATH) return false
    serve(request, response, pathname)
    return true
  }
}
