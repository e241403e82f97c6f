import { WebSocket } from 'ws'
import type { ChannelSocket } from '../channels/channels.js'
import type { SignedInUser } from '../channels/user-sessions.js'
import type { App } from '../domain/app.js'
import type { Meter } from '../domain/meter.js'
import { PusherCode, type PusherCodeValue } from '../errors/pusher-codes.js'
import type { Logger } from '../log.js'
import { writeFrame } from './frame-writer.js'
import { encodeError, encodeFrame } from './protocol.js'

export interface ConnectionLimits {
  /** Bytes that may wait in the send buffer before the reader counts as too slow. */
  maxBufferedBytes: number
  clientEventsPerSecond: number
}

export interface SignedInState extends SignedInUser {
  userInfo: unknown
}

const TEXT = { binary: false } as const
/** A slow reader whose close handshake does not finish in this time is cut off. */
const CLOSE_GRACE_MS = 5000

/** One browser (or other Pusher client) socket, its channels, sign-in and liveness state. */
export class PusherConnection implements ChannelSocket {
  readonly socketId: string
  readonly app: App
  readonly log: Logger
  /** Channel name -> presence user id on that channel (undefined for other kinds). */
  readonly channels = new Map<string, string | undefined>()
  user: SignedInState | undefined
  lastSeen = Date.now()
  /** When the server sent a ping that is still unanswered. */
  pingSentAt: number | undefined
  /** Set once the client showed it speaks WebSocket control frames (Reverb #224). */
  usesControlFrames = false
  readonly #ws: WebSocket
  readonly #limits: ConnectionLimits
  #clientEventWindow = { start: 0, count: 0 }
  #queue: Promise<void> = Promise.resolve()
  readonly #meter: Meter

  constructor(
    ws: WebSocket,
    app: App,
    socketId: string,
    log: Logger,
    limits: ConnectionLimits,
    meter: Meter,
  ) {
    this.#ws = ws
    this.app = app
    this.socketId = socketId
    this.log = log
    this.#limits = limits
    this.#meter = meter
  }

  get appId(): string {
    return this.app.id
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN
  }

  /**
   * Writes a ready frame. A reader whose unsent bytes pass the bound is closed with a code that
   * makes pusher-js back off (4101), so one slow socket never holds memory or delays others.
   */
  send(frame: Buffer | string): void {
    if (!this.isOpen) return
    if (this.#ws.bufferedAmount + frame.length > this.#limits.maxBufferedBytes) {
      this.#meter.dropped('slow_consumer')
      this.log.warn('closed a slow reader: its send buffer is full')
      this.#ws.close(PusherCode.SlowConsumer, 'Client too slow')
      setTimeout(() => this.#ws.terminate(), CLOSE_GRACE_MS).unref()
      return
    }
    if (typeof frame === 'string' || !writeFrame(this.#ws, frame)) this.#ws.send(frame, TEXT)
  }

  sendEvent(event: string, data?: unknown, channel?: string): void {
    this.send(encodeFrame(event, data, channel))
  }

  /** A `pusher:error` that leaves the socket open (pusher-js only logs it). */
  sendError(code: number | null, message: string): void {
    this.#meter.rejected(`pusher_${code ?? 'error'}`)
    this.send(encodeError(code, message))
  }

  /** `pusher:error` then a close frame with the same code (pusher-protocol §4 [rec]). */
  close(code: PusherCodeValue, message: string): void {
    this.sendError(code, message)
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(code, message)
    }
  }

  touch(): void {
    this.lastSeen = Date.now()
    this.pingSentAt = undefined
  }

  /** Server-initiated liveness check: a `pusher:ping`, plus a control ping for clients that use them. */
  ping(now: number): void {
    this.pingSentAt = now
    this.sendEvent('pusher:ping', {})
    if (this.usesControlFrames && this.isOpen) this.#ws.ping()
  }

  /** Counts a client event against the per-second budget (pusher-protocol §6.4). */
  takeClientEventToken(now: number): boolean {
    const window = this.#clientEventWindow
    if (now - window.start >= 1000) {
      window.start = now
      window.count = 0
    }
    if (window.count >= this.#limits.clientEventsPerSecond) return false
    window.count += 1
    return true
  }

  /** Runs frame handlers one after another, so a slow await never reorders a client's frames. */
  enqueue(task: () => Promise<void> | void): void {
    this.#queue = this.#queue
      .then(task)
      .catch((error: unknown) => this.log.error({ err: error }, 'frame handler failed'))
  }
}
