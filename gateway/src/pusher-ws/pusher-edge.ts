import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import type { Channels } from '../channels/channels.js'
import type { UserSessions } from '../channels/user-sessions.js'
import type { Config } from '../config/schema.js'
import type { App } from '../domain/app.js'
import type { Meter } from '../domain/meter.js'
import { PusherCode, type PusherCodeValue } from '../errors/pusher-codes.js'
import type { Logger } from '../log.js'
import { PusherConnection } from './connection.js'
import type { EdgeContext } from './handlers/context.js'
import { dispatchFrame } from './handlers/index.js'
import { startLivenessSweep } from './liveness.js'
import { originAllowed } from './origin.js'
import { Events, encodeError, parseClientFrame } from './protocol.js'

export interface PusherEdgeOptions {
  meter: Meter
  channels: Channels
  users: UserSessions
  log: Logger
  limits: Readonly<Config['pusher']>
  findAppByKey(key: string): App | undefined
  nextSocketId(): string
}

const APP_PATH = /^\/app\/([^/]+)\/?$/
const SUPPORTED_PROTOCOLS = { min: 5, max: 7 }

/** The Pusher WebSocket endpoint `/app/{key}`: handshake checks, frames in, cleanup on close. */
export class PusherEdge {
  readonly #options: PusherEdgeOptions
  readonly #context: EdgeContext
  readonly #wss: WebSocketServer
  readonly #connections = new Set<PusherConnection>()
  readonly #perApp = new Map<string, number>()
  readonly #stopSweep: () => void

  constructor(options: PusherEdgeOptions) {
    this.#options = options
    this.#context = {
      meter: options.meter,
      channels: options.channels,
      users: options.users,
      limits: options.limits,
    }
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.limits.maxFrameBytes })
    this.#stopSweep = startLivenessSweep(this.#connections, options.limits)
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** True when the path (prefix already removed) belongs to this edge. */
  matches(pathname: string): boolean {
    return APP_PATH.test(pathname)
  }

  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    pathname: string,
  ): void {
    const key = decodeURIComponent(APP_PATH.exec(pathname)?.[1] ?? '')
    // The upgrade always completes: pusher-js reads the close code to decide whether to retry.
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, request, url, key))
  }

  /** The first refusal that applies, in the order pusher-protocol §1 lists them. */
  #refusal(
    app: App | undefined,
    request: IncomingMessage,
    url: URL,
    key: string,
  ): [PusherCodeValue, string] | undefined {
    if (!app) return [PusherCode.AppNotFound, `App key ${key.slice(0, 64)} does not exist`]
    if (!app.enabled) return [PusherCode.AppDisabled, 'Application is disabled']
    const protocol = url.searchParams.get('protocol')
    if (protocol !== null) {
      if (!/^\d+$/.test(protocol))
        return [PusherCode.InvalidVersionFormat, 'Invalid version string format']
      const version = Number(protocol)
      if (version < SUPPORTED_PROTOCOLS.min || version > SUPPORTED_PROTOCOLS.max) {
        return [PusherCode.UnsupportedProtocol, `Unsupported protocol version ${version}`]
      }
    }
    if (!originAllowed(request.headers.origin, app.allowedOrigins))
      return [PusherCode.Unauthorized, 'Origin not allowed']
    if (app.maxConnections !== null && (this.#perApp.get(app.id) ?? 0) >= app.maxConnections) {
      return [PusherCode.OverConnectionQuota, 'Application is over connection quota']
    }
    return undefined
  }

  #accept(ws: WebSocket, request: IncomingMessage, url: URL, key: string): void {
    const { log } = this.#options
    ws.on('error', (error) => log.debug({ err: error }, 'websocket error'))
    const app = this.#options.findAppByKey(key)
    const refusal = this.#refusal(app, request, url, key)
    if (refusal || !app) {
      const [code, message] = refusal ?? [PusherCode.AppNotFound, 'App not found']
      this.#options.meter.rejected(`pusher_${code}`)
      ws.send(encodeError(code, message))
      ws.close(code, message)
      return
    }
    const socketId = this.#options.nextSocketId()
    const connection = new PusherConnection(
      ws,
      app,
      socketId,
      log.child({ socketId, appId: app.id }),
      this.#options.limits,
      this.#options.meter,
    )
    this.#connections.add(connection)
    this.#perApp.set(app.id, (this.#perApp.get(app.id) ?? 0) + 1)
    const authTimer = this.#startAuthenticationDeadline(connection)
    ws.on('message', (data, isBinary) => this.#onMessage(connection, data, isBinary))
    const alive = () => {
      connection.usesControlFrames = true
      connection.touch()
    }
    ws.on('ping', alive)
    ws.on('pong', alive)
    ws.on('close', () => {
      if (authTimer) clearTimeout(authTimer)
      this.#onClose(connection)
    })
    connection.sendEvent(Events.ConnectionEstablished, {
      socket_id: socketId,
      activity_timeout: this.#options.limits.activityTimeout,
    })
  }

  /** Authorized connections (§8): sign in within the app's timeout or be closed with 4009. */
  #startAuthenticationDeadline(connection: PusherConnection): NodeJS.Timeout | undefined {
    const seconds = connection.app.userAuthenticationTimeout
    if (seconds <= 0) return undefined
    const timer = setTimeout(() => {
      if (!connection.user)
        connection.close(PusherCode.Unauthorized, 'Connection not authorized within timeout')
    }, seconds * 1000)
    timer.unref()
    return timer
  }

  #onMessage(connection: PusherConnection, data: RawData, isBinary: boolean): void {
    connection.touch()
    if (isBinary) {
      connection.sendError(
        PusherCode.InvalidMessage,
        'Binary frames are not supported; send JSON text',
      )
      return
    }
    const frame = parseClientFrame(data.toString())
    if (typeof frame === 'string') {
      connection.sendError(PusherCode.InvalidMessage, frame)
      return
    }
    connection.enqueue(async () => {
      if (!connection.isOpen) return
      try {
        await dispatchFrame(connection, frame, this.#context)
      } catch (error) {
        // A bug in one handler costs one message, never the process or other sockets.
        connection.log.error({ err: error, event: frame.event }, 'frame handler failed')
        connection.sendError(PusherCode.InvalidMessage, 'Internal error while handling the message')
      }
    })
  }

  #onClose(connection: PusherConnection): void {
    this.#connections.delete(connection)
    const left = (this.#perApp.get(connection.appId) ?? 1) - 1
    if (left > 0) this.#perApp.set(connection.appId, left)
    else this.#perApp.delete(connection.appId)
    // Queued after any frame still being handled, so a half-done subscribe is undone too.
    connection.enqueue(async () => {
      const { channels, users } = this.#options
      for (const [channel, userId] of connection.channels) {
        await channels.unsubscribe(connection, channel, userId)
      }
      connection.channels.clear()
      if (connection.user) await users.signOut(connection, connection.user)
    })
  }

  /**
   * Closes every socket signed in as the user (REST terminate_connections, §8) with 4009, as
   * soketi does: pusher-js then stays disconnected until the page reconnects it.
   */
  terminateUser(appId: string, userId: string): number {
    let closed = 0
    for (const connection of this.#connections) {
      if (connection.appId !== appId || connection.user?.id !== userId) continue
      connection.close(PusherCode.Unauthorized, 'You got disconnected by the app.')
      closed += 1
    }
    return closed
  }

  /** Asks every client to reconnect elsewhere (4200) and waits for the sockets to go. */
  async close(graceMs = 2000): Promise<void> {
    this.#stopSweep()
    for (const connection of this.#connections)
      connection.close(PusherCode.Reconnect, 'Server shutting down')
    await closeServer(this.#wss, graceMs)
    this.#options.channels.flushPendingLeaves()
  }
}

/** Closes the server, terminating clients that have not finished their close handshake in time. */
function closeServer(wss: WebSocketServer, graceMs: number): Promise<void> {
  const pending = [...wss.clients].map(
    (ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) {
          resolve()
          return
        }
        const timer = setTimeout(() => ws.terminate(), graceMs)
        ws.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
      }),
  )
  return Promise.all(pending).then(() => new Promise<void>((resolve) => wss.close(() => resolve())))
}
