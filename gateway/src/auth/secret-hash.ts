import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Device secrets are stored as `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url salt and hash), so
 * the cost can be raised later without invalidating stored rows. N=2^14, r=8, p=1 costs 16 MiB and
 * about 60 ms on one core of the development machine; it runs on libuv's thread pool.
 */
const DEFAULTS = { N: 16384, r: 8, p: 1 } as const
const KEY_BYTES = 32
const SALT_BYTES = 16

function derive(secret: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, { ...params, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    )
  })
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(secret, salt, DEFAULTS)
  const { N, r, p } = DEFAULTS
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** Constant-time check of `secret` against a stored hash; false for any malformed hash. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number)
  const salt = Buffer.from(parts[4] ?? '', 'base64url')
  const expected = Buffer.from(parts[5] ?? '', 'base64url')
  if (!N || !r || !p || salt.length === 0 || expected.length !== KEY_BYTES) return false
  const actual = await derive(secret, salt, { N, r, p })
  return timingSafeEqual(actual, expected)
}

/** 32 random bytes, base64url: 43 characters that need no quoting in shells, URLs or YAML. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url')
}
