import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { captureIo } from '../../test/support/cli-io.js'
import { tempDir, testApp } from '../../test/support/test-gateway.js'
import { runCli } from '../src/cli/main.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `fleetcast <args>` in this process with captured output. */
export async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const cli = captureIo(env)
  const code = await runCli(args, cli.io)
  return { code, stdout: cli.stdout(), stderr: cli.stderr() }
}

export function configFile(text: string): string {
  const file = join(tempDir(), 'fleetcast.yaml')
  writeFileSync(file, text)
  return file
}

/** A config file with its own store and `testApp` under apps[] (managed by the config). */
export function storeConfig(extra = ''): string {
  const store = join(tempDir(), 'f.db')
  return configFile(
    `store:\n  path: ${store}\napps:\n  - id: ${testApp.id}\n    key: ${testApp.key}\n    secret: ${testApp.secret}\n${extra}`,
  )
}
