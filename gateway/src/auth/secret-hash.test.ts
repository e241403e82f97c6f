import { describe, expect, it } from 'vitest'
import {
  generateSecret,
  hashChosenSecret,
  hashGeneratedSecret,
  issueSecret,
  verifySecret,
} from './secret-hash.js'

describe('device secret hashing', () => {
  it('verifies the right secret and refuses a wrong one', async () => {
    const secret = generateSecret()
    const stored = await hashChosenSecret(secret)
    expect(await verifySecret(secret, stored)).toBe(true)
    expect(await verifySecret(`${secret}x`, stored)).toBe(false)
    expect(await verifySecret('', stored)).toBe(false)
  })

  it('never contains the secret and uses a fresh salt per hash', async () => {
    const secret = 'same-secret-for-both'
    const a = await hashChosenSecret(secret)
    const b = await hashChosenSecret(secret)
    expect(a).not.toContain(secret)
    expect(a).not.toBe(b)
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
    expect(await verifySecret(secret, b)).toBe(true)
  })

  it('keeps verifying hashes made with other stored parameters', async () => {
    const secret = 'tuned-secret'
    const stored = await hashChosenSecret(secret)
    const [, , , , salt] = stored.split('$')
    const { scryptSync } = await import('node:crypto')
    const key = scryptSync(secret, Buffer.from(salt ?? '', 'base64url'), 32, {
      N: 1024,
      r: 8,
      p: 1,
    })
    const cheaper = ['scrypt', 1024, 8, 1, salt, key.toString('base64url')].join('$')
    expect(await verifySecret(secret, cheaper)).toBe(true)
  })

  it('treats malformed stored hashes as a mismatch', async () => {
    for (const stored of [
      '',
      'plain',
      'scrypt$x$8$1$abc$def',
      'bcrypt$1$2$3$4$5',
      'scrypt$1024$8$1$$',
    ]) {
      expect(await verifySecret('anything', stored)).toBe(false)
    }
  })

  it('stores generated secrets as a SHA-256 digest that verifies only the same secret', async () => {
    const { secret, hash } = issueSecret()
    expect(hash).toMatch(/^sha256\$[\w-]{43}$/)
    expect(hash).not.toContain(secret)
    expect(hash).toBe(hashGeneratedSecret(secret))
    expect(await verifySecret(secret, hash)).toBe(true)
    expect(await verifySecret(`${secret}x`, hash)).toBe(false)
    expect(await verifySecret(secret, 'sha256$short')).toBe(false)
    expect(await verifySecret(secret, `${hash}$extra`)).toBe(false)
  })

  it('generates url-safe secrets with 256 bits of randomness', () => {
    const secrets = new Set(Array.from({ length: 100 }, generateSecret))
    expect(secrets.size).toBe(100)
    for (const s of secrets) expect(s).toMatch(/^[\w-]{43}$/)
  })
})
