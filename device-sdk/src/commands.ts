import type { CommandJournal } from './command-journal.js'
import type { DeviceError } from './errors.js'
import { ackTopic, isTopicLevel } from './topics.js'

/** What the gateway publishes on `devices/{id}/commands/{name}` (docs/bridge.md). */
export interface CommandEnvelope<A = unknown> {
  id: string
  name: string
  args: A
  /** Epoch ms when the gateway issued it. */
  issuedAt: number
  /** Epoch ms after which it must not run, when the gateway's rule sets `expires`. */
  expiresAt?: number
}

export interface CommandContext {
  id: string
  name: string
  issuedAt: number
  expiresAt: number | undefined
  /** Aborted when the handler runs past `commands.timeoutMs` (its ack is then a timeout error). */
  signal: AbortSignal
}

export type CommandHandler<A = unknown, R = unknown> = (
  args: A,
  context: CommandContext,
) => R | Promise<R>

/** The ack payload on `devices/{id}/acks/{commandId}`; browsers get it as `data` of `command.ack`. */
export type CommandAck =
  | { id: string; status: 'ok'; result?: unknown }
  | { id: string; status: 'error' | 'rejected'; error: { code: string; message: string } }

export type DropReason = 'expired' | 'duplicate' | 'malformed'

export interface CommandDropped {
  reason: DropReason
  id: string | undefined
  name: string | undefined
  detail: string
}

const MAX_ID_LENGTH = 200

/** The envelope of a command publish, or why it is not one. */
export function parseCommand(
  topic: string,
  payload: Buffer,
  deviceId: string,
): CommandEnvelope | { problem: string; id?: string; name?: string } {
  const prefix = `devices/${deviceId}/commands/`
  const topicName = topic.startsWith(prefix) ? topic.slice(prefix.length) : ''
  if (!isTopicLevel(topicName)) return { problem: `not a command topic: ${topic}` }
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    return { problem: 'payload is not JSON', name: topicName }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { problem: 'payload is not a JSON object', name: topicName }
  const { id, name, args, issuedAt, expiresAt } = value as Record<string, unknown>
  if (!isTopicLevel(id) || id.length > MAX_ID_LENGTH)
    return { problem: 'id must be one topic level of at most 200 characters', name: topicName }
  if (name !== topicName)
    return { problem: `name ${JSON.stringify(name)} differs from the topic's`, id, name: topicName }
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt))
    return { problem: 'issuedAt must be a number', id, name }
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)))
    return { problem: 'expiresAt must be a number when present', id, name }
  return { id, name, args, issuedAt, ...(expiresAt === undefined ? {} : { expiresAt }) }
}

export interface DispatcherDeps {
  deviceId: string
  clock: () => number
  timeoutMs: number
  journal: () => CommandJournal
  /** Largest ack payload the gateway passes to browsers (already net of the command.ack wrapper). */
  maxAckBytes: (topic: string) => number
  /** Queues the ack publish durably. */
  sendAck(topic: string, payload: Buffer): Promise<unknown>
  onCommand(command: CommandEnvelope): void
  onDropped(dropped: CommandDropped): void
  onError(error: DeviceError | Error): void
}

/**
 * Commands from `handleMessage`: parse, drop expired and duplicate ones (the journal), PUBACK once
 * the start is on disk, run the handler with a timeout, and queue its ack.
 */
export class CommandDispatcher {
  readonly #deps: DispatcherDeps
  readonly #handlers = new Map<string, CommandHandler>()
  readonly #running = new Map<string, Promise<void>>()

  constructor(deps: DispatcherDeps) {
    this.#deps = deps
  }

  on(name: string, handler: CommandHandler): () => void {
    if (!isTopicLevel(name))
      throw new TypeError(`command name "${name}" must be one topic level without / + # or NUL`)
    if (typeof handler !== 'function') throw new TypeError('command handler must be a function')
    if (this.#handlers.has(name))
      throw new TypeError(`a handler for command "${name}" is already registered`)
    this.#handlers.set(name, handler)
    return () => {
      if (this.#handlers.get(name) === handler) this.#handlers.delete(name)
    }
  }

  /** Settles once every handler running now has finished and queued its ack. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()])
  }

  /** mqtt.js `handleMessage`: `done` sends the PUBACK. */
  handle(topic: string, payload: Buffer, done: (error?: Error) => void): void {
    const deps = this.#deps
    const parsed = parseCommand(topic, payload, deps.deviceId)
    if ('problem' in parsed) {
      deps.onDropped({
        reason: 'malformed',
        id: parsed.id,
        name: parsed.name,
        detail: parsed.problem,
      })
      done()
      return
    }
    const command = parsed
    const journal = deps.journal()
    const seen = journal.get(command.id)
    if (seen) {
      const drop = (detail: string) =>
        deps.onDropped({ reason: 'duplicate', id: command.id, name: command.name, detail })
      if (seen.ack !== undefined) {
        drop('already answered: its ack is sent again')
        this.#settle(deps.sendAck(ackTopic(deps.deviceId, command.id), Buffer.from(seen.ack)), done)
      } else if (this.#running.has(command.id)) {
        drop('already running')
        done()
      } else {
        drop('the device stopped while running it; not run again')
        this.#settle(
          this.#answer(command.id, {
            id: command.id,
            status: 'error',
            error: {
              code: 'interrupted',
              message: 'the device stopped while running this command; it was not run again',
            },
          }),
          done,
        )
      }
      return
    }
    const now = deps.clock()
    if (command.expiresAt !== undefined && now > command.expiresAt) {
      deps.onDropped({
        reason: 'expired',
        id: command.id,
        name: command.name,
        detail: `expired ${now - command.expiresAt} ms before it arrived`,
      })
      this.#settle(
        this.#answer(command.id, {
          id: command.id,
          status: 'rejected',
          error: { code: 'expired', message: 'the command expired before the device got it' },
        }),
        done,
      )
      return
    }
    journal.started(command.id, now).then(
      () => {
        done()
        const run = this.#run(command).finally(() => this.#running.delete(command.id))
        this.#running.set(command.id, run)
      },
      (error: unknown) => {
        deps.onError(error as Error)
        // No PUBACK without the record: the gateway sends the command again.
        done(error as Error)
      },
    )
  }

  #settle(work: Promise<unknown>, done: (error?: Error) => void): void {
    work.then(
      () => done(),
      (error: unknown) => {
        this.#deps.onError(error as Error)
        done(error as Error)
      },
    )
  }

  async #run(command: CommandEnvelope): Promise<void> {
    const deps = this.#deps
    deps.onCommand(command)
    const handler = this.#handlers.get(command.name)
    let ack: CommandAck
    if (!handler) {
      ack = {
        id: command.id,
        status: 'rejected',
        error: { code: 'unknown_command', message: `no handler for command "${command.name}"` },
      }
    } else {
      const controller = new AbortController()
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(
            Object.assign(new Error(`handler ran longer than ${deps.timeoutMs} ms`), {
              code: 'timeout',
            }),
          )
        }, deps.timeoutMs)
      })
      try {
        const context: CommandContext = {
          id: command.id,
          name: command.name,
          issuedAt: command.issuedAt,
          expiresAt: command.expiresAt,
          signal: controller.signal,
        }
        const result = await Promise.race([
          Promise.resolve().then(() => handler(command.args, context)),
          timeout,
        ])
        ack = { id: command.id, status: 'ok', ...(result === undefined ? {} : { result }) }
      } catch (error) {
        ack = { id: command.id, status: 'error', error: describe(error) }
      } finally {
        clearTimeout(timer)
      }
    }
    try {
      await this.#answer(command.id, ack)
    } catch (error) {
      deps.onError(error as Error)
    }
  }

  /** Records the ack in the journal, then queues it; a result too large becomes an error ack. */
  async #answer(id: string, ack: CommandAck): Promise<void> {
    const deps = this.#deps
    const topic = ackTopic(deps.deviceId, id)
    let payload: Buffer
    try {
      payload = Buffer.from(JSON.stringify(ack))
    } catch (error) {
      payload = errorAck(id, 'invalid_result', `result is not JSON: ${(error as Error).message}`)
    }
    if (payload.length > deps.maxAckBytes(topic))
      payload = errorAck(
        id,
        'result_too_large',
        `the ack is ${payload.length} bytes; the gateway passes at most ${deps.maxAckBytes(topic)}`,
      )
    await deps.journal().finished(id, deps.clock(), payload.toString('utf8'))
    await deps.sendAck(topic, payload)
  }
}

function errorAck(id: string, code: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ id, status: 'error', error: { code, message } }))
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return { code: typeof code === 'string' ? code : 'handler_error', message: error.message }
  }
  return { code: 'handler_error', message: String(error) }
}
