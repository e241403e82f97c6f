import { WebSocket } from 'ws'
import type { Subscriber } from '../channels/channel-hub.js'
import type { App } from '../domain/app.js'
import type { PusherCodeValue } from '../errors/pusher-codes.js'
import type { Logger } from '../log.js'
import { encodeError, encodeFrame } from './protocol.js'

/** One browser (or other Pusher client) socket and the channels it joined. */
export class PusherConnection implements Subscriber {
  readonly socketId: string
  readonly app: App
  readonly log: Logger
  readonly channels = new Set<string>()
  readonly #ws: WebSocket

  constructor(ws: WebSocket, app: App, socketId: string, log: Logger) {
    this.#ws = ws
    this.app = app
    this.socketId = socketId
    this.log = log
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN
  }

  send(frame: string): void {
    if (this.isOpen) this.#ws.send(frame)
  }

  sendEvent(event: string, data?: unknown, channel?: string): void {
    this.send(encodeFrame(event, data, channel))
  }

  /** A `pusher:error` that leaves the socket open (pusher-js only logs it). */
  sendError(code: number | null, message: string): void {
    this.send(encodeError(code, message))
  }

  /** `pusher:error` then a close frame with the same code (pusher-protocol §4 [rec]). */
  close(code: PusherCodeValue, message: string): void {
    this.sendError(code, message)
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(code, message)
    }
  }
}
