import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt'
import { Reconnector } from './backoff.js'
import { CommandDispatcher, type CommandHandler } from './commands.js'
import { DeviceError, refusalError } from './errors.js'
import type { CloseResult, DeviceEvents, DeviceState, PublishReceipt } from './events.js'
import {
  prepareEvent,
  publishPacketBytes,
  type Readings,
  telemetryData,
  wrappedEventBytes,
} from './limits.js'
import { type DeviceOptions, type ResolvedOptions, resolveOptions } from './options.js'
import type { Outbox, Overflow } from './outbox.js'
import { openStorage, type Storage } from './storage.js'
import { commandFilter, statusTopic } from './topics.js'

export const SDK_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version

const REFUSED_CODES = new Set([1, 2, 4, 5])

export class Device extends EventEmitter<DeviceEvents> {
  readonly deviceId: string
  /** Where the queue (`outbox.log`) and the command journal (`commands.log`) live. */
  readonly dataDir: string
  readonly #options: ResolvedOptions
  readonly #reconnector: Reconnector
  readonly #commands: CommandDispatcher
  #state: DeviceState = 'new'
  #storage: Storage | undefined
  #outbox: Outbox | undefined
  #client: MqttClient | undefined
  #connected = false
  #inflight = 0
  #lastError: Error | undefined
  #starting: Promise<void> | undefined
  #closing: Promise<CloseResult> | undefined
  readonly #onDisconnect = new Set<() => void>()

  constructor(options: DeviceOptions) {
    super()
    this.#options = resolveOptions(options)
    this.deviceId = this.#options.deviceId
    this.dataDir = this.#options.dataDir
    this.#reconnector = new Reconnector(this.#options.backoff, () => void this.#connect())
    const { limits, deviceId } = this.#options
    this.#commands = new CommandDispatcher({
      deviceId,
      clock: this.#options.clock,
      timeoutMs: this.#options.commandTimeoutMs,
      journal: () => (this.#storage as Storage).journal,
      maxAckBytes: (topic) =>
        Math.min(
          limits.maxEventBytes - wrappedEventBytes(deviceId, topic, 0),
          limits.maxPacketBytes - publishPacketBytes(topic, 0),
        ),
      sendAck: (topic, payload) => this.#enqueue(topic, payload),
      onCommand: (command) => this.emit('command', command),
      onDropped: (dropped) => this.emit('command.dropped', dropped),
      onError: (error) => this.#emitError(error),
    })
  }

  get state(): DeviceState {
    return this.#state
  }

  /** Messages waiting for the gateway's PUBACK, and their bytes. */
  get queue(): { messages: number; bytes: number } {
    return { messages: this.#outbox?.messages ?? 0, bytes: this.#outbox?.bytes ?? 0 }
  }

  /**
   * Opens the queue and the command journal in `dataDir` (repairing them if needed, see
   * `storage.recovered`) and starts connecting. Resolves once the files are open: being offline
   * is normal, so it does not wait for the gateway. Register command handlers before.
   */
  start(): Promise<void> {
    if (this.#closing) return Promise.reject(new DeviceError('closed', 'device is closed'))
    this.#starting ??= this.#open()
    return this.#starting
  }

  async #open(): Promise<void> {
    const { dataDir, queue, dedupe, clock } = this.#options
    this.#storage = await openStorage(dataDir, {
      queue,
      dedupe,
      now: clock(),
      recovered: (report) => this.emit('storage.recovered', report),
      onStorageError: (error) => this.#emitError(error),
    })
    this.#outbox = this.#storage.outbox
    if (this.#closing) return
    void this.#connect()
  }

  /**
   * Queues event `event` with `data` for the device's channel (`devices/{id}/events/{event}`).
   * Data is sent as JSON; a Buffer or Uint8Array as its bytes. Resolves once the message is on
   * disk; it is delivered at QoS 1, in order, whenever the gateway is reachable. Rejects with a
   * TypeError for a bad name or data, `payload_too_large` over the gateway's limits, `queue_full`
   * under `dropNewest`.
   */
  async publish(event: string, data: unknown): Promise<PublishReceipt> {
    this.#assertOpen()
    const { topic, payload } = prepareEvent(this.deviceId, event, data, this.#options.limits)
    return this.#enqueue(topic, payload)
  }

  /**
   * Telemetry: `values` with a timestamp as one event (default `telemetry`):
   * `{"ts": 1767000000000, "cpuTemp": 48.3, "load1": 0.12}`.
   */
  async telemetry(
    values: Readings,
    options: { event?: string; ts?: number } = {},
  ): Promise<PublishReceipt> {
    const data = telemetryData(values, options.ts ?? this.#options.clock())
    return this.publish(options.event ?? 'telemetry', data)
  }

  /**
   * Handles command `name`: the handler's return value is acked as `{status: "ok", result}`, a
   * throw as `{status: "error", error: {code, message}}`. Returns a function that removes it.
   */
  onCommand<A = unknown, R = unknown>(name: string, handler: CommandHandler<A, R>): () => void {
    if (this.#closing) throw new DeviceError('closed', 'device is closed')
    return this.#commands.on(name, handler as CommandHandler)
  }

  /** Resolves true once every queued message is acknowledged, false after `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const outbox = this.#outbox
    if (!outbox) return true
    const signal = AbortSignal.timeout(timeoutMs)
    await outbox.drained(signal)
    return outbox.messages === 0
  }

  /**
   * Stops: waits (within `timeoutMs`, default 5000) for running command handlers and for the
   * queue to be acknowledged while connected, publishes the retained `{"online":false}` status,
   * disconnects cleanly (the will is not sent) and closes the files. Messages not acknowledged
   * stay on disk for the next start.
   */
  close(options: { timeoutMs?: number } = {}): Promise<CloseResult> {
    this.#closing ??= this.#close(options.timeoutMs ?? 5000)
    return this.#closing
  }

  async #close(timeoutMs: number): Promise<CloseResult> {
    const deadline = Date.now() + timeoutMs
    const remaining = () => Math.max(0, deadline - Date.now())
    await this.#starting?.catch(() => undefined)
    this.#state = 'closing'
    this.#reconnector.cancel()
    const outbox = this.#outbox
    if (!outbox) {
      this.#state = 'closed'
      return { flushed: true, pending: 0 }
    }
    const whileConnected = <T>(work: Promise<T>): Promise<T | undefined> =>
      this.#connected ? this.#within(work, remaining(), true) : Promise.resolve(undefined)
    await whileConnected(this.#commands.idle())
    await whileConnected(outbox.drained())
    const flushed = outbox.messages === 0
    const client = this.#client
    if (client && this.#connected) {
      const offline = JSON.stringify({ online: false, ts: this.#options.clock(), reason: 'closed' })
      await this.#within(
        client.publishAsync(statusTopic(this.deviceId), offline, { qos: 1, retain: true }),
        Math.max(remaining(), 500),
        true,
      ).catch(() => undefined)
      await this.#within(client.endAsync(), Math.max(remaining(), 500), true).catch(() => undefined)
    }
    this.#client = undefined
    this.#connected = false
    client?.end(true)
    // A handler still running past the deadline cannot queue its ack any more.
    await this.#within(this.#commands.idle(), remaining(), false)
    await this.#storage?.close()
    this.#state = 'closed'
    return { flushed, pending: outbox.messages }
  }

  /** `work`, or undefined after `ms` (or when the connection drops, if `untilDisconnect`). */
  #within<T>(work: Promise<T>, ms: number, untilDisconnect: boolean): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined
    let dropped: (() => void) | undefined
    const stop = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms)
      if (untilDisconnect) {
        dropped = () => resolve(undefined)
        this.#onDisconnect.add(dropped)
      }
    })
    return Promise.race([work, stop]).finally(() => {
      clearTimeout(timer)
      if (dropped) this.#onDisconnect.delete(dropped)
    })
  }

  #assertOpen(): void {
    if (this.#closing) throw new DeviceError('closed', 'device is closed')
    if (!this.#outbox) throw new DeviceError('not_started', 'call and await device.start() first')
  }

  async #enqueue(topic: string, payload: Buffer): Promise<PublishReceipt> {
    const outbox = this.#outbox as Outbox
    let added: ReturnType<Outbox['add']>
    try {
      added = outbox.add(topic, payload, this.#options.clock())
    } catch (error) {
      const overflow = (error as { overflow?: Overflow }).overflow
      if (overflow) this.emit('queue.overflow', overflow)
      throw error
    }
    if (added.overflow) this.emit('queue.overflow', added.overflow)
    await added.written
    this.#pump()
    return { seq: added.message.seq }
  }

  #emitError(error: DeviceError | Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }

  async #connect(): Promise<void> {
    if (this.#closing || this.#client) return
    const attempt = this.#reconnector.failures + 1
    this.#state = 'connecting'
    const { url, deviceId, keepaliveSeconds, connectTimeoutMs, transport } = this.#options
    let password: string
    try {
      password = await this.#options.secret()
    } catch (cause) {
      const error = new DeviceError(
        'credentials_unavailable',
        `the credentials provider failed: ${(cause as Error)?.message ?? String(cause)}`,
        { cause },
      )
      this.#emitError(error)
      this.#retry(error.message, false)
      return
    }
    if (this.#closing) return
    const client = mqtt.connect(url, {
      ...transport,
      clientId: deviceId,
      username: deviceId,
      password,
      protocolVersion: 4,
      // A persistent session: commands sent while the device is offline wait for it.
      clean: false,
      keepalive: keepaliveSeconds,
      connectTimeout: connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      will: {
        topic: statusTopic(deviceId),
        payload: Buffer.from(JSON.stringify({ online: false })),
        qos: 1,
        retain: true,
      },
    })
    this.#client = client
    client.handleMessage = (packet, done) => {
      if (client !== this.#client) return done()
      const payload = Buffer.isBuffer(packet.payload)
        ? packet.payload
        : Buffer.from(packet.payload as string)
      this.#commands.handle(packet.topic, payload, (error) => done(error))
    }
    client.on('connect', (connack) => this.#onConnect(client, connack, attempt))
    client.on('error', (error) => {
      if (client === this.#client) this.#lastError = error
    })
    client.on('close', () => this.#onClose(client))
  }

  #onConnect(client: MqttClient, connack: IConnackPacket, attempt: number): void {
    if (client !== this.#client) return
    this.#connected = true
    this.#state = 'connected'
    this.#inflight = 0
    this.#reconnector.connected()
    const birth = JSON.stringify({
      ...this.#options.birth,
      online: true,
      ts: this.#options.clock(),
      sdk: SDK_VERSION,
    })
    client.publish(statusTopic(this.deviceId), birth, { qos: 1, retain: true }, () => undefined)
    client.subscribe(commandFilter(this.deviceId), { qos: 1 }, (error, granted) => {
      if (client !== this.#client) return
      if (error || granted?.[0]?.qos === 128)
        this.#emitError(
          new Error(
            `the gateway refused the subscription to ${commandFilter(this.deviceId)}: commands will not arrive`,
          ),
        )
    })
    this.#outbox?.rewind()
    this.emit('connected', { attempt, sessionPresent: connack.sessionPresent })
    this.#pump()
  }

  /** Sends queued messages in order, at most `maxInflight` unacknowledged at a time. */
  #pump(): void {
    const client = this.#client
    const outbox = this.#outbox
    if (!client || !outbox || !this.#connected) return
    while (this.#inflight < this.#options.maxInflight) {
      const message = outbox.next()
      if (!message) return
      this.#inflight += 1
      client.publish(message.topic, message.payload, { qos: 1 }, (error) => {
        // A PUBACK from an earlier connection: the message is sent again on this one anyway.
        if (client !== this.#client) return
        this.#inflight -= 1
        if (!error) {
          outbox.ack(message.seq)
          this.emit('delivered', { seq: message.seq, topic: message.topic })
          if (outbox.messages === 0) this.emit('drained')
        }
        this.#pump()
      })
    }
  }

  #onClose(client: MqttClient): void {
    if (client !== this.#client) return
    this.#client = undefined
    const wasConnected = this.#connected
    this.#connected = false
    this.#inflight = 0
    // Keep an error listener: mqtt.js throws an unheard 'error'.
    client.on('error', () => undefined)
    client.end(true)
    for (const notify of this.#onDisconnect) notify()
    const error = this.#lastError
    this.#lastError = undefined
    const code = (error as { code?: unknown } | undefined)?.code
    const refusal =
      typeof code === 'number' && REFUSED_CODES.has(code)
        ? refusalError(code, this.deviceId)
        : undefined
    const reason = refusal?.message ?? error?.message ?? 'connection closed'
    if (wasConnected) this.emit('disconnected', { reason, error: refusal ?? error })
    if (this.#closing) return
    if (refusal) {
      this.#emitError(refusal)
      if (this.#options.onAuthFailure === 'stop') {
        this.#state = 'stopped'
        this.#reconnector.cancel()
        this.emit('stopped', refusal)
        return
      }
    }
    this.#retry(reason, refusal !== undefined)
  }

  #retry(reason: string, refused: boolean): void {
    if (this.#closing) return
    const { attempt, delayMs } = this.#reconnector.lost(refused)
    this.#state = 'waiting'
    this.emit('reconnecting', { attempt, delayMs, reason })
  }
}

/** A device: call `start()` after registering handlers and listeners. */
export function createDevice(options: DeviceOptions): Device {
  return new Device(options)
}
