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
} as const

export type ErrorCode = keyof typeof errorDocs
