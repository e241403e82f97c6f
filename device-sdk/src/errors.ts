/** Why an SDK call failed or a connection was refused; `code` is stable, the message is for people. */
export type DeviceErrorCode =
  /** `publish` data or a command result larger than the gateway accepts (checked before sending). */
  | 'payload_too_large'
  /** The outbound queue is full and its policy is `dropNewest`. */
  | 'queue_full'
  /** `publish` or `onCommand` after `close()`. */
  | 'closed'
  /** `publish` before `start()`. */
  | 'not_started'
  /** CONNACK 4: unknown device, wrong or missing secret. */
  | 'bad_credentials'
  /** CONNACK 5: device disabled, credentials revoked, or login banned after repeated failures. */
  | 'not_authorized'
  /** CONNACK 2: the gateway refused the client id (it must equal the device id). */
  | 'identifier_rejected'
  /** CONNACK 1: the gateway does not speak the requested protocol version. */
  | 'unacceptable_protocol'
  /** The credentials provider threw or returned something that is not a secret. */
  | 'credentials_unavailable'
  /** Another process (or another device object) holds the data directory. */
  | 'data_dir_locked'
  /** Reading or writing the queue or the command journal failed. */
  | 'storage_failed'

export class DeviceError extends Error {
  readonly code: DeviceErrorCode
  /** The CONNACK return code, for refusals. */
  readonly returnCode: number | undefined

  constructor(
    code: DeviceErrorCode,
    message: string,
    options: { cause?: unknown; returnCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DeviceError'
    this.code = code
    this.returnCode = options.returnCode
  }
}

const REFUSALS: Record<number, { code: DeviceErrorCode; text: string }> = {
  1: {
    code: 'unacceptable_protocol',
    text: 'the gateway refused the protocol version (it speaks MQTT 3.1.1)',
  },
  2: { code: 'identifier_rejected', text: 'the gateway refused the client id' },
  4: { code: 'bad_credentials', text: 'unknown device id or wrong secret' },
  5: {
    code: 'not_authorized',
    text: 'device disabled, credentials revoked, or login banned after repeated failures',
  },
}

/**
 * CONNACK refusals that another attempt with the same settings cannot fix soon: they are not
 * retried at the normal backoff (docs/device-sdk.md, "Wrong credentials").
 */
export function refusalError(returnCode: number, deviceId: string): DeviceError | undefined {
  const refusal = REFUSALS[returnCode]
  if (!refusal) return undefined
  return new DeviceError(
    refusal.code,
    `gateway refused device "${deviceId}" (CONNACK ${returnCode}): ${refusal.text}`,
    { returnCode },
  )
}
