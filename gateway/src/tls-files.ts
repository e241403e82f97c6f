import { readFileSync } from 'node:fs'
import { GatewayError } from './errors/gateway-error.js'

/** Reads a PEM file named by a setting; an unreadable one stops the start, naming the setting. */
export function readTlsFile(path: string, setting: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new GatewayError('FC_ERR_TLS_FILE', `Cannot read ${setting} (${path}): ${reason}`, {
      cause: error,
    })
  }
}
