import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))
const DIST = fileURLToPath(new URL('../dist/', import.meta.url))
const BUILD_INFO = fileURLToPath(new URL('../tsconfig.tsbuildinfo', import.meta.url))

/** A store file path in a fresh directory, removed when the test finishes. */
export function storePath(prefix = 'fleetcast-persistence-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'fleetcast.db')
}

/**
 * Fails when a compiled file of the persistence (what a child process runs from gateway/dist) is
 * missing, or its source changed after the last build. tsc -b does not rewrite an output whose
 * content is unchanged, so the build time is its build-info file's, not the output's.
 */
export function assertPersistenceDistFresh(): void {
  const sources = [
    'mqtt/sqlite-persistence.ts',
    'store/migrations.ts',
    'domain/topic-filter.ts',
    ...readdirSync(join(SRC, 'mqtt/persistence')).map((f) => `mqtt/persistence/${f}`),
  ]
  const built = existsSync(BUILD_INFO) ? statSync(BUILD_INFO).mtimeMs : 0
  for (const source of sources) {
    const compiled = join(DIST, source.replace(/\.ts$/, '.js'))
    if (!existsSync(compiled) || statSync(join(SRC, source)).mtimeMs > built) {
      throw new Error(`${compiled} is missing or stale: run "npm run build" (npm test does)`)
    }
  }
}
