export {
  type BackoffOptions,
  backoffDelay,
  DEFAULT_BACKOFF,
  Reconnector,
  resolveBackoff,
} from './backoff.js'
export type {
  CommandAck,
  CommandContext,
  CommandDropped,
  CommandEnvelope,
  CommandHandler,
  DropReason,
} from './commands.js'
export { createDevice, Device, SDK_VERSION } from './device.js'
export { DeviceError, type DeviceErrorCode } from './errors.js'
export type { CloseResult, DeviceEvents, DeviceState, PublishReceipt } from './events.js'
export { DEFAULT_LIMITS, type GatewayLimits, type Readings } from './limits.js'
export type { DeviceOptions, TransportOptions } from './options.js'
export { DEFAULT_QUEUE, type Overflow, type OverflowPolicy, type QueueOptions } from './outbox.js'
export type { RecoveryReport } from './record-log.js'
export type { StorageRecovery } from './storage.js'
export {
  ackTopic,
  commandFilter,
  commandTopic,
  eventTopic,
  isTopicLevel,
  statusTopic,
} from './topics.js'
