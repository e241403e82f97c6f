import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, rmdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * Others rebuild gateway/dist while a bench runs, so the driver copies it (with its package.json,
 * for "type": "module") to node_modules/.cache/fleetcast-bench-<name>/<pid>, where its own imports
 * still resolve, and every process of the run loads that copy. `build` names what was copied.
 */
export function snapshotGateway(name) {
  const packageDir = dirname(dirname(fileURLToPath(import.meta.resolve('@fleetcast/gateway'))))
  const root = dirname(packageDir)
  const dir = join(root, 'node_modules', '.cache', `fleetcast-bench-${name}`, String(process.pid))
  mkdirSync(dir, { recursive: true })
  cpSync(join(packageDir, 'dist'), join(dir, 'dist'), { recursive: true })
  cpSync(join(packageDir, 'package.json'), join(dir, 'package.json'))
  const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim()
  let build = 'unknown'
  try {
    const changed = git('status', '--porcelain', '--', 'gateway/src').split('\n').filter(Boolean)
    build = `${git('rev-parse', '--short', 'HEAD')}${changed.length ? ` + ${changed.length} uncommitted gateway/src files` : ''}`
  } catch {}
  return {
    entry: pathToFileURL(join(dir, 'dist', 'index.js')).href,
    build,
    remove() {
      rmSync(dir, { recursive: true, force: true })
      try {
        rmdirSync(dirname(dir))
      } catch {}
    },
  }
}
