import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'

const BIN = fileURLToPath(new URL('../../gateway/bin/fleetcast.js', import.meta.url))
const DIST = fileURLToPath(new URL('../../gateway/dist/cli/main.js', import.meta.url))

export interface SpawnedCli {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once stdout contains `text`. */
  stdoutIncludes(text: string): Promise<void>
  exited: Promise<number | null>
}

/** The installed `fleetcast` bin as a user runs it (compiled by `npm run build`, which `npm test` runs). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnedCli {
  if (!existsSync(DIST))
    throw new Error(`${DIST} is missing: run "npm run build" (npm test does) first`)
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('FLEETCAST_')),
  )
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...cleanEnv, ...env } })
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stdoutIncludes: (text) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!out.includes(text)) return
          child.stdout.off('data', check)
          resolve()
        }
        child.stdout.on('data', check)
        void exited.then(() =>
          reject(new Error(`exited before printing "${text}"; stderr: ${err}`)),
        )
        check()
      }),
  }
}
