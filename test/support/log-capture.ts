import { PassThrough } from 'node:stream'
import { createLogger, type Logger } from '../../gateway/src/log.js'

export interface CapturedLog {
  log: Logger
  /** Parsed JSON lines written so far. */
  lines(): Array<Record<string, unknown>>
  /** Resolves with the first line (already written or still to come) that matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
}

export function captureLog(level: 'info' | 'debug' = 'info'): CapturedLog {
  const stream = new PassThrough()
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<{
    match: (line: Record<string, unknown>) => boolean
    resolve: (line: Record<string, unknown>) => void
  }> = []
  let pending = ''
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    const complete = pending.split('\n')
    pending = complete.pop() ?? ''
    for (const text of complete) {
      const line = JSON.parse(text) as Record<string, unknown>
      lines.push(line)
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  return {
    log: createLogger({ level, format: 'json' }, stream),
    lines: () => [...lines],
    waitFor: (match) => {
      const found = lines.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ match, resolve }))
    },
  }
}
