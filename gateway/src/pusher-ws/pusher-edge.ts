import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import type { ChannelHub } from '../channels/channel-hub.js'
import type { App } from '../domain/app.js'
import { PusherCode, type PusherCodeValue } from '../errors/pusher-codes.js'
import type { Logger } from '../log.js'
import { PusherConnection } from './connection.js'
import { dispatchFrame } from './handlers/index.js'
import { Events, encodeError, parseClientFrame } from './protocol.js'

export interface PusherEdgeOptions {
  hub: ChannelHub
  log: Logger
  findAppByKey(key: string): App | undefined
  nextSocketId(): string
  activityTimeout: number
  maxFrameBytes: number
}

const APP_PATH = /^\/app\/([^/]+)\/?$/

/** The Pusher WebSocket endpoint `/app/{key}`: handshake, frames in, cleanup on close. */
export class PusherEdge {
  readonly #options: PusherEdgeOptions
  readonly #wss: WebSocketServer
  readonly #connections = new Set<PusherConnection>()

  constructor(options: PusherEdgeOptions) {
    this.#options = options
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes })
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** True when the request path belongs to this edge. */
  matches(pathname: string): boolean {
    return APP_PATH.test(pathname)
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, pathname: string): void {
    const key = decodeURIComponent(APP_PATH.exec(pathname)?.[1] ?? '')
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, key))
  }

  #accept(ws: WebSocket, key: string): void {
    const { log } = this.#options
    ws.on('error', (error) => log.debug({ err: error }, 'websocket error'))
    const app = this.#options.findAppByKey(key)
    // The upgrade completes before refusing: pusher-js reads the close code to decide not to retry.
    if (!app) {
      refuse(ws, PusherCode.AppNotFound, `App key ${key.slice(0, 64)} does not exist`)
      return
    }
    if (!app.enabled) {
      refuse(ws, PusherCode.AppDisabled, 'Application is disabled')
      return
    }

    const socketId = this.#options.nextSocketId()
    const connection = new PusherConnection(
      ws,
      app,
      socketId,
      log.child({ socketId, appId: app.id }),
    )
    this.#connections.add(connection)
    ws.on('message', (data, isBinary) => this.#onMessage(connection, data, isBinary))
    ws.on('close', () => this.#onClose(connection))
    connection.sendEvent(Events.ConnectionEstablished, {
      socket_id: socketId,
      activity_timeout: this.#options.activityTimeout,
    })
  }

  #onMessage(connection: PusherConnection, data: RawData, isBinary: boolean): void {
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
    try {
      dispatchFrame(connection, frame, { hub: this.#options.hub })
    } catch (error) {
      // A bug in one handler must cost one message, never the process or other sockets.
      connection.log.error({ err: error, event: frame.event }, 'frame handler failed')
      connection.sendError(PusherCode.InvalidMessage, 'Internal error while handling the message')
    }
  }

  #onClose(connection: PusherConnection): void {
    this.#connections.delete(connection)
    for (const channel of connection.channels) {
      this.#options.hub.unsubscribe(connection.app.id, channel, connection)
    }
    connection.channels.clear()
  }

  /** Asks every client to reconnect elsewhere (4200) and waits for the sockets to go. */
  async close(graceMs = 2000): Promise<void> {
    for (const connection of this.#connections) {
      connection.close(PusherCode.Reconnect, 'Server shutting down')
    }
    await closeServer(this.#wss, graceMs)
  }
}

function refuse(ws: WebSocket, code: PusherCodeValue, message: string): void {
  ws.send(encodeError(code, message))
  ws.close(code, message)
}

/** Closes the server, terminating clients that have not finished their close handshake in time. */
function closeServer(wss: WebSocketServer, graceMs: number): Promise<void> {
  const pending = [...wss.clients].map(
    (ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve()
        const timer = setTimeout(() => ws.terminate(), graceMs)
        ws.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
      }),
  )
  return Promise.all(pending).then(() => new Promise<void>((resolve) => wss.close(() => resolve())))
}
