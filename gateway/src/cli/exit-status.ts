import type { ErrorCode } from '../errors/codes.js'

/** Exit statuses scripts can rely on (docs/cli.md, and the column of docs/errors.md). */
export const ExitStatus = {
  Ok: 0,
  /** The operation failed for a reason none of the classes below names. */
  Failed: 1,
  /** Unknown command or option, missing or malformed argument, invalid field value. */
  Usage: 2,
  /** The configuration is invalid or unreadable. */
  Config: 3,
  NotFound: 4,
  /** Already exists, or managed by the config file. */
  Conflict: 5,
  /** The admin API refused the token (HTTP 401 or 403). */
  NotAuthorized: 6,
  /** The gateway named by --url cannot be reached. */
  Unreachable: 7,
} as const

export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus]

/**
 * The one mapping from error code to exit status; a test keeps docs/errors.md's column equal to
 * it. Codes the CLI never meets (device logins, start-up) still get one, so the map stays total.
 */
export const exitStatusByCode: Readonly<Record<ErrorCode, ExitStatus>> = {
  FC_ERR_CONFIG_INVALID: ExitStatus.Config,
  FC_ERR_CONFIG_FILE: ExitStatus.Config,
  FC_ERR_PORT_IN_USE: ExitStatus.Failed,
  FC_ERR_LISTEN: ExitStatus.Failed,
  FC_ERR_TLS_FILE: ExitStatus.Failed,
  FC_ERR_STORE_OPEN: ExitStatus.Failed,
  FC_ERR_STORE_SCHEMA: ExitStatus.Failed,
  FC_ERR_APP_NOT_FOUND: ExitStatus.NotFound,
  FC_ERR_APP_REQUIRED: ExitStatus.Usage,
  FC_ERR_APP_CONFLICT: ExitStatus.Conflict,
  FC_ERR_DEVICE_EXISTS: ExitStatus.Conflict,
  FC_ERR_DEVICE_INVALID: ExitStatus.Usage,
  FC_ERR_DEVICE_NOT_FOUND: ExitStatus.NotFound,
  FC_ERR_TOKEN_NOT_FOUND: ExitStatus.NotFound,
  FC_ERR_CLAIM_NOT_FOUND: ExitStatus.NotFound,
  FC_ERR_CLAIM_INVALID: ExitStatus.Usage,
  FC_ERR_NOT_LISTENING: ExitStatus.Failed,
  FC_ERR_GATEWAY_UNREACHABLE: ExitStatus.Unreachable,
  FC_ERR_ADMIN_RESPONSE: ExitStatus.Failed,
  FC_ERR_APP_EXISTS: ExitStatus.Conflict,
  FC_ERR_APP_INVALID: ExitStatus.Usage,
  FC_ERR_APP_MANAGED_BY_CONFIG: ExitStatus.Conflict,
  FC_ERR_TOKEN_INVALID: ExitStatus.Usage,
  FC_ERR_UNAUTHORIZED: ExitStatus.NotAuthorized,
  FC_ERR_FORBIDDEN: ExitStatus.NotAuthorized,
  FC_ERR_REQUEST_INVALID: ExitStatus.Usage,
  FC_ERR_REQUEST_TOO_LARGE: ExitStatus.Usage,
  FC_ERR_ROUTE_NOT_FOUND: ExitStatus.NotFound,
  FC_ERR_METHOD_NOT_ALLOWED: ExitStatus.Failed,
  FC_ERR_INTERNAL: ExitStatus.Failed,
  FC_ERR_CLAIM_UNKNOWN: ExitStatus.Failed,
  FC_ERR_CLAIM_REVOKED: ExitStatus.Failed,
  FC_ERR_CLAIM_EXPIRED: ExitStatus.Failed,
  FC_ERR_CLAIM_USED_UP: ExitStatus.Failed,
  FC_ERR_LOGIN_THROTTLED: ExitStatus.Failed,
  FC_ERR_IMPORT_FORMAT: ExitStatus.Usage,
  FC_ERR_IMPORT_SECRETS: ExitStatus.Usage,
  FC_ERR_IMPORT_ROWS: ExitStatus.Usage,
  FC_ERR_FILE_EXISTS: ExitStatus.Conflict,
  FC_ERR_FILE_ACCESS: ExitStatus.Usage,
}

export function exitStatusFor(code: ErrorCode): ExitStatus {
  return exitStatusByCode[code]
}
