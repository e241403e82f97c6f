import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { onTestFinished } from 'vitest'

/** Where the Debian package `chromium` installs its launcher. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium'

/**
 * Flags for a machine without internet access: headless, no sandbox (containers, root), and no
 * background traffic (component updates, sync, field trials) that would stall waiting for a network.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The system Chromium: `/usr/bin/chromium`, else `chromium` on the PATH. */
export function chromiumExecutable(): string {
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  if (found.status !== 0 || path === '') {
    throw new Error('chromium is missing: install the Debian package chromium')
  }
  return path
}

/**
 * Launches the system Chromium headless through playwright-core (which brings no browser of its
 * own), with a fresh temporary profile. It is closed when the calling test finishes. Call
 * `needTool(context, 'chromium', 'chromium')` first.
 */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: CHROMIUM_ARGS,
  })
  onTestFinished(() => browser.close())
  return browser
}
