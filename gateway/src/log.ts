import { type Logger, pino } from 'pino'
import pretty from 'pino-pretty'
import type { Config } from './config/schema.js'

export type { Logger }

/** Anything that could let a reader impersonate a device, a browser or the app backend. */
const REDACT = [
  'secret',
  'password',
  'auth',
  'auth_signature',
  '*.secret',
  '*.password',
  '*.auth',
  '*.auth_signature',
  'apps[*].secret',
]

/** The root logger: JSON for machines, pretty for a terminal; children per component. */
export function createLogger(
  options: Config['log'],
  stream: NodeJS.WritableStream = process.stdout,
): Logger {
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && isTty(stream))
  const base = {
    level: options.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
  }
  if (!usePretty) return pino(base, stream)
  // In-thread pretty printing: a transport worker would outlive a graceful close in tests.
  return pino(base, pretty({ destination: stream, sync: true, ignore: 'pid,hostname' }))
}

function isTty(stream: NodeJS.WritableStream): boolean {
  return 'isTTY' in stream && stream.isTTY === true
}
