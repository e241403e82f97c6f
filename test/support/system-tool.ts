import { spawnSync } from 'node:child_process'
import type { TestContext } from 'vitest'

/**
 * Tests that need a system tool: with CI=true a missing tool fails the test, otherwise the test
 * is skipped; either way the message names the Debian package that provides it.
 */
export function needTool(context: TestContext, command: string, debianPackage: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
  if (found) return
  const message = `${command} is missing: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`
  if (process.env.CI === 'true') throw new Error(message)
  context.skip(message)
}
