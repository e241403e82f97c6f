import type { CommandDropped, CommandEnvelope } from './commands.js'
import type { DeviceError } from './errors.js'
import type { Overflow } from './outbox.js'
import type { StorageRecovery } from './storage.js'

export type DeviceState =
  | 'new'
  | 'connecting'
  | 'connected'
  | 'waiting'
  | 'stopped'
  | 'closing'
  | 'closed'

/** The events a `Device` emits, with their arguments. */
export interface DeviceEvents {
  connected: [{ attempt: number; sessionPresent: boolean }]
  disconnected: [{ reason: string; error: Error | undefined }]
  reconnecting: [{ attempt: number; delayMs: number; reason: string }]
  /** Only emitted when someone listens: the device recovers by itself, so an unheard error does not throw. */
  error: [DeviceError | Error]
  /** Gave up after a refusal, with `onAuthFailure: 'stop'`. */
  stopped: [DeviceError]
  'queue.overflow': [Overflow]
  'storage.recovered': [StorageRecovery]
  /** The gateway acknowledged a queued message. */
  delivered: [{ seq: number; topic: string }]
  /** The queue became empty. */
  drained: []
  /** A fresh command arrived and is about to run (or be rejected as unknown). */
  command: [CommandEnvelope]
  'command.dropped': [CommandDropped]
}

export interface PublishReceipt {
  /** Position in the queue; increases with every publish, also across restarts. */
  seq: number
}

export interface CloseResult {
  /** Every queued message was acknowledged before the timeout. */
  flushed: boolean
  /** Messages still queued on disk; they are sent after the next `start()`. */
  pending: number
}
