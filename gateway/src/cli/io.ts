/** Where a command writes and what environment it sees; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
  /** Resolves when the user asks a long-running command (start, watch) to stop. */
  untilStopped(): Promise<string>
  /** Calls `handler` on each reload request (SIGHUP); returns the function that stops listening. */
  onReload(handler: () => void): () => void
}

export const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  untilStopped: () =>
    new Promise((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve(signal)
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    }),
  onReload: (handler) => {
    process.on('SIGHUP', handler)
    return () => process.off('SIGHUP', handler)
  },
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
