import { closeSync, existsSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { GatewayError } from '../../errors/gateway-error.js'
import type { IssuedSecret, SecretsSink } from './import-devices.js'

/** Refuses up front, before any work, a path that would be refused when created. */
export function assertNewFile(path: string, option: string): void {
  if (existsSync(path)) {
    throw new GatewayError(
      'FC_ERR_FILE_EXISTS',
      `${option} ${path} already exists; name a new file (it is never overwritten)`,
    )
  }
}

/** Creates `path`, failing if it exists; `mode` applies from the first byte (no chmod race). */
export function createNewFile(path: string, option: string, mode: number): number {
  try {
    return openSync(path, 'wx', mode)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') assertNewFile(path, option)
    throw new GatewayError('FC_ERR_FILE_ACCESS', `Cannot create ${option} ${path}: ${code}`, {
      cause: error,
    })
  }
}

/**
 * `--secrets-out FILE`: CSV `id,secret`, readable by its owner only. Each batch's secrets are on
 * disk (fsync) before the batch commits, so no stored device has a secret that was lost.
 */
export class SecretsFile implements SecretsSink {
  #fd: number | undefined
  /** Secrets written so far. */
  written = 0

  constructor(
    readonly path: string,
    readonly option = '--secrets-out',
  ) {}

  open(): void {
    this.#fd = createNewFile(this.path, this.option, 0o600)
    writeSync(this.#fd, 'id,secret\n')
  }

  write(secrets: readonly IssuedSecret[]): void {
    if (this.#fd === undefined) throw new Error('SecretsFile.write before open')
    // Device ids and generated secrets (base64url) hold no comma, quote or line break.
    writeSync(this.#fd, secrets.map(({ id, secret }) => `${id},${secret}\n`).join(''))
    fsyncSync(this.#fd)
    this.written += secrets.length
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }
}
