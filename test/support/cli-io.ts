import { PassThrough } from 'node:stream'
import type { CliIo } from '../../gateway/src/cli/io.js'

export interface CapturedIo {
  io: CliIo
  stdout(): string
  stderr(): string
  /** Resolves once stdout contains `text`. */
  stdoutIncludes(text: string): Promise<void>
  /** Ends a running `start` or `watch` as SIGINT would. */
  stop(): void
  /** Asks a running `start` to reload, as SIGHUP would. */
  reload(): void
}

export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  const out: string[] = []
  const err: string[] = []
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()))
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()))
  let stopRequested: (signal: string) => void = () => {}
  const stopped = new Promise<string>((resolve) => {
    stopRequested = resolve
  })
  const stdoutIncludes = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!out.join('').includes(text)) return
        stdout.off('data', check)
        resolve()
      }
      stdout.on('data', check)
      check()
    })
  const reloaders = new Set<() => void>()
  return {
    reload: () => {
      for (const handler of reloaders) handler()
    },
    stdoutIncludes,
    io: {
      stdout,
      stderr,
      env,
      untilStopped: () => stopped,
      onReload: (handler) => {
        reloaders.add(handler)
        return () => reloaders.delete(handler)
      },
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    stop: () => stopRequested('SIGINT'),
  }
}
