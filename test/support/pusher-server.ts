import Pusher from 'pusher'
import { type TestGateway, testApp } from './test-gateway.js'

export interface ServerApp {
  id: string
  key: string
  secret: string
}

/** The official `pusher` server SDK pointed at a test gateway, as an app backend would use it. */
export function pusherServer(
  target: TestGateway,
  app: ServerApp,
  options: Partial<Pusher.Options> = {},
): Pusher {
  return new Pusher({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1',
    port: String(target.addresses.http.port),
    useTLS: false,
    ...options,
  })
}

/** The status an SDK call was refused with (`RequestError.status`), or 200 when it succeeded. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call
    return 200
  } catch (error) {
    const status = (error as { status?: number }).status
    if (status === undefined) throw error
    return status
  }
}

/** The app backend without network: the official SDK signs channel and user auth locally. */
export const testBackend = new Pusher({
  appId: testApp.id,
  key: testApp.key,
  secret: testApp.secret,
  cluster: 'x',
})
