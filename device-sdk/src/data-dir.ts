import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DeviceError } from './errors.js'

/** Data directories held by this process: two device objects on one queue would corrupt it. */
const heldHere = new Set<string>()

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the data directory for this process: a `lock` file with the pid. A lock left by a
 * process that no longer runs (killed, crashed) is taken over. Resolves to the release function.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const absolute = resolve(dir)
  if (heldHere.has(absolute))
    throw new DeviceError('data_dir_locked', `${absolute} is already used by another device object`)
  await mkdir(absolute, { recursive: true })
  const path = join(absolute, 'lock')
  const mine = String(process.pid)
  heldHere.add(absolute)
  try {
    try {
      const handle = await open(path, 'wx')
      await handle.writeFile(mine)
      await handle.close()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
      if (Number.isSafeInteger(holder) && holder !== process.pid && alive(holder))
        throw new DeviceError(
          'data_dir_locked',
          `${absolute} is used by process ${holder}; one device process per data directory`,
        )
      await writeFile(path, mine)
    }
  } catch (error) {
    heldHere.delete(absolute)
    throw error
  }
  return async () => {
    heldHere.delete(absolute)
    const holder = await readFile(path, 'utf8').catch(() => '')
    if (holder === mine) await unlink(path).catch(() => undefined)
  }
}
