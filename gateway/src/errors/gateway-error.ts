import { type ErrorCode, errorDocs } from './codes.js'

const kGatewayError = Symbol.for('fleetcast.gateway.error')

/**
 * The one error type the gateway throws on purpose. `code` is stable (see docs/errors.md);
 * `message` is written for the operator who reads it in a terminal or a log line.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly [kGatewayError] = true

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'GatewayError'
    this.code = code
  }

  /** Survives two copies of this module being loaded (CLI and gateway bundled apart). */
  static is(value: unknown): value is GatewayError {
    return typeof value === 'object' && value !== null && kGatewayError in value
  }

  /** The short summary docs/errors.md gives for this code. */
  get summary(): string {
    return errorDocs[this.code]
  }
}
