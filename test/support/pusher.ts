import { onTestFinished } from 'vitest'
import { channelStringToSign, hmacHex } from '../../gateway/src/auth/channel-signature.js'
import { PusherClient } from '../../gateway/src/cli/pusher-js.js'

export interface AppCredentials {
  key: string
  secret: string
}

/** pusher-js 8 as a browser would use it against a self-hosted server (pusher-protocol §16.1). */
export function createPusherClient(
  port: number,
  app: AppCredentials,
  authorize = signLocally(app),
): PusherClient {
  const client = new PusherClient(app.key, {
    cluster: '',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: { customHandler: authorize },
  })
  onTestFinished(() => client.disconnect())
  return client
}

type Authorize =
  NonNullable<ConstructorParameters<typeof PusherClient>[1]['channelAuthorization']> extends infer T
    ? T extends { customHandler: infer H }
      ? H
      : never
    : never

/** What an app backend's auth endpoint returns, computed with the app secret. */
export function signLocally(app: AppCredentials): Authorize {
  return ({ socketId, channelName }, callback) =>
    callback(null, {
      auth: `${app.key}:${hmacHex(app.secret, channelStringToSign(socketId, channelName))}`,
    })
}

export function connected(client: PusherClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.connection.state === 'connected') return resolve()
    client.connection.bind('connected', () => resolve())
    client.connection.bind('failed', () => reject(new Error('pusher-js connection failed')))
  })
}

export function subscribed(client: PusherClient, channel: string) {
  const subscription = client.subscribe(channel)
  return new Promise<typeof subscription>((resolve, reject) => {
    subscription.bind('pusher:subscription_succeeded', () => resolve(subscription))
    subscription.bind('pusher:subscription_error', (error: unknown) =>
      reject(new Error(`subscription to ${channel} failed: ${JSON.stringify(error)}`)),
    )
  })
}

export function nextEvent(client: PusherClient, channel: string, event: string): Promise<unknown> {
  return new Promise((resolve) => {
    const subscription = client.channel(channel)
    const handler = (data: unknown) => {
      subscription.unbind(event, handler)
      resolve(data)
    }
    subscription.bind(event, handler)
  })
}

type PusherOptions = ConstructorParameters<typeof PusherClient>[1]

type Authenticate =
  NonNullable<PusherOptions['userAuthentication']> extends infer T
    ? T extends { customHandler: infer H }
      ? H
      : never
    : never

export interface PusherClientOptions extends Partial<PusherOptions> {
  /** The app backend's channel auth endpoint; `signLocally(app)` when absent. */
  authorize?: Authorize
  /** The app backend's user-auth endpoint, used by `client.signin()`. */
  authenticate?: Authenticate
}

/**
 * `createPusherClient` with user authentication (`client.signin()`) and any other pusher-js
 * option (e.g. `pongTimeout`). Disconnected when the calling test finishes.
 */
export function createPusherClientWith(
  port: number,
  app: AppCredentials,
  { authorize = signLocally(app), authenticate, ...options }: PusherClientOptions = {},
): PusherClient {
  const client = new PusherClient(app.key, {
    cluster: '',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: { customHandler: authorize },
    ...(authenticate ? { userAuthentication: { customHandler: authenticate } } : {}),
    ...options,
  })
  onTestFinished(() => client.disconnect())
  return client
}

/** A frame as pusher-js decoded it (`data` parsed when it was a JSON string). */
export interface PusherMessage {
  event: string
  channel?: string
  data?: unknown
  user_id?: string
}

/** Resolves with the next frame pusher-js receives that matches (bind before causing it). */
export function nextMessage(
  client: PusherClient,
  match: (message: PusherMessage) => boolean,
): Promise<PusherMessage> {
  return new Promise((resolve) => {
    const handler = (message: PusherMessage) => {
      if (!match(message)) return
      client.connection.unbind('message', handler)
      resolve(message)
    }
    client.connection.bind('message', handler)
  })
}

/** Every frame pusher-js receives from now on, in order. */
export function recordMessages(client: PusherClient): PusherMessage[] {
  const messages: PusherMessage[] = []
  client.connection.bind('message', (message: PusherMessage) => messages.push(message))
  return messages
}

/** Resolves once the connection state is `state` (now or later). */
export function reachedState(client: PusherClient, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (client.connection.state === state) return resolve()
    const handler = () => {
      client.connection.unbind(state, handler)
      resolve()
    }
    client.connection.bind(state, handler)
  })
}

/** Calls `client.signin()` and resolves with the parsed `user_data` once the server accepts it. */
export async function signedIn(client: PusherClient): Promise<Record<string, unknown>> {
  const success = nextMessage(client, (m) => m.event === 'pusher:signin_success')
  client.signin()
  const message = await success
  return JSON.parse((message.data as { user_data: string }).user_data) as Record<string, unknown>
}
