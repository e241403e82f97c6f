import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Two stored forms, told apart by their first field:
 *
 * - `sha256$<digest>` for secrets Fleetcast generates (256 random bits). A slow KDF protects
 *   guessable secrets; nobody can enumerate 2^256 candidates, so for these it would only cost
 *   ~60 ms of CPU per CONNECT (a 1,000-device reconnect storm = a minute of a Pi's core). The same
 *   reasoning is why API tokens are commonly stored as a plain SHA-256. Unsalted on purpose: the
 *   digest is also the lookup key for tokens.
 * - `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url) for secrets a person chose (an imported
 *   `secret` column): N=2^14, r=8, p=1 costs 16 MiB and ~60 ms on libuv's thread pool; the
 *   parameters are stored so the cost can be raised without invalidating rows.
 */
const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1 } as const
const KEY_BYTES = 32
const SALT_BYTES = 16

function derive(secret: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, { ...params, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    )
  })
}

function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret).digest()
}

/** For a secret a person chose: salted scrypt. */
export async function hashChosenSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(secret, salt, SCRYPT_DEFAULTS)
  const { N, r, p } = SCRYPT_DEFAULTS
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** For a secret from `generateSecret` (or a token): its SHA-256, which is also a lookup key. */
export function hashGeneratedSecret(secret: string): string {
  return `sha256$${sha256(secret).toString('base64url')}`
}

async function verifyScrypt(secret: string, parts: string[]): Promise<boolean> {
  if (parts.length !== 6) return false
  const [N, r, p] = parts.slice(1, 4).map(Number)
  const salt = Buffer.from(parts[4] ?? '', 'base64url')
  const expected = Buffer.from(parts[5] ?? '', 'base64url')
  if (!N || !r || !p || salt.length === 0 || expected.length !== KEY_BYTES) return false
  const actual = await derive(secret, salt, { N, r, p })
  return timingSafeEqual(actual, expected)
}

/** Constant-time check of `secret` against a stored hash of either form; false when malformed. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts[0] === 'scrypt') return verifyScrypt(secret, parts)
  if (parts[0] !== 'sha256' || parts.length !== 2) return false
  const expected = Buffer.from(parts[1] ?? '', 'base64url')
  return expected.length === KEY_BYTES && timingSafeEqual(sha256(secret), expected)
}

/** Whether `secret` matches any of a device's valid hashes (current, and previous while rotating). */
export async function verifyAnySecret(secret: string, hashes: readonly string[]): Promise<boolean> {
  for (const hash of hashes) if (await verifySecret(secret, hash)) return true
  return false
}

/** 32 random bytes, base64url: 43 characters that need no quoting in shells, URLs or YAML. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** A fresh secret and the hash to store for it. */
export function issueSecret(): { secret: string; hash: string } {
  const secret = generateSecret()
  return { secret, hash: hashGeneratedSecret(secret) }
}
