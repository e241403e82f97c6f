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
  return {
    stdoutIncludes,
    io: { stdout, stderr, env, untilStopped: () => stopped },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    stop: () => stopRequested('SIGINT'),
  }
}
