/**
 * Registry of the gateway's own error codes. Codes are never reused or renamed; a test keeps
 * docs/errors.md listing exactly these.
 */
export const errorDocs = {
  FC_ERR_CONFIG_INVALID:
    'The configuration (file, environment or overrides) does not match the schema.',
  FC_ERR_CONFIG_FILE: 'The configuration file cannot be read or is not valid YAML.',
  FC_ERR_PORT_IN_USE: 'A listener could not bind because its port is already taken.',
  FC_ERR_LISTEN: 'A listener could not bind for a reason other than a taken port.',
  FC_ERR_TLS_FILE: 'A TLS certificate or key file named in the configuration cannot be read.',
  FC_ERR_STORE_OPEN: 'The SQLite store file cannot be opened or created.',
  FC_ERR_STORE_SCHEMA: 'The store was written by a newer Fleetcast or a migration failed.',
  FC_ERR_APP_NOT_FOUND: 'No app has the given id.',
  FC_ERR_APP_REQUIRED: 'Several apps exist, so the command needs to be told which one to use.',
  FC_ERR_APP_CONFLICT:
    'An app in the configuration clashes with a stored app (same key, other id).',
  FC_ERR_DEVICE_EXISTS: 'A device with this id is already registered.',
  FC_ERR_DEVICE_INVALID: 'A device field (id, name, tags, ACL) is not valid.',
  FC_ERR_DEVICE_NOT_FOUND: 'No device has the given id.',
  FC_ERR_TOKEN_NOT_FOUND: 'No token has the given id.',
  FC_ERR_CLAIM_NOT_FOUND: 'No claim has the given id.',
  FC_ERR_CLAIM_INVALID: 'A claim field (uses, expiry, tags) is not valid.',
  FC_ERR_NOT_LISTENING: 'The gateway was asked for its addresses before listen() resolved.',
  FC_ERR_GATEWAY_UNREACHABLE: 'The gateway named by --url (FLEETCAST_URL) cannot be reached.',
  FC_ERR_ADMIN_RESPONSE: 'The server named by --url did not answer as the Fleetcast admin API.',
  FC_ERR_APP_EXISTS: 'An app with this id is already registered.',
  FC_ERR_APP_INVALID: 'An app field (id) is not valid.',
  FC_ERR_APP_MANAGED_BY_CONFIG:
    'The app is defined under apps[] in the configuration, so it is changed there, not by commands.',
  FC_ERR_TOKEN_INVALID: 'A token field (kind, app, grants, user, label, ttl) is not valid.',
  FC_ERR_UNAUTHORIZED:
    'The admin API request has no admin token, or its token is unknown, revoked or expired.',
  FC_ERR_FORBIDDEN: "The admin token's scope does not cover the app or the operation.",
  FC_ERR_REQUEST_INVALID: 'An admin API request has a malformed body or query string.',
  FC_ERR_REQUEST_TOO_LARGE: 'An admin API request body is larger than the limit.',
  FC_ERR_ROUTE_NOT_FOUND: 'No admin API route has this path.',
  FC_ERR_METHOD_NOT_ALLOWED: 'The admin API route exists but does not take this HTTP method.',
  FC_ERR_INTERNAL: 'The gateway failed while answering; its log has the details.',
  FC_ERR_CLAIM_UNKNOWN: 'A device presented a claim secret that no claim has.',
  FC_ERR_CLAIM_REVOKED: 'A device presented the secret of a revoked claim.',
  FC_ERR_CLAIM_EXPIRED: 'A device presented the secret of an expired claim.',
  FC_ERR_CLAIM_USED_UP: 'A device presented the secret of a claim with no uses left.',
  FC_ERR_LOGIN_THROTTLED:
    'Too many failed logins or claims came from this address; it is refused until the ban ends.',
  FC_ERR_IMPORT_FORMAT:
    'An import file cannot be read as a whole: malformed CSV or JSON, empty, or unknown columns.',
  FC_ERR_IMPORT_SECRETS:
    'An import would create devices but names no way to give them secrets (--secrets-out).',
  FC_ERR_IMPORT_ROWS: 'Some rows of an import were invalid and skipped; the others were imported.',
  FC_ERR_FILE_EXISTS: 'A file the command would create (--secrets-out, --out) already exists.',
  FC_ERR_FILE_ACCESS: 'A file named on the command line cannot be read or created.',
} as const

export type ErrorCode = keyof typeof errorDocs
