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
