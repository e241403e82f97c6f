import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Constant-time string equality. Both sides are hashed first so that inputs of different length
 * take the same path and leak nothing through an early return.
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest()
  const db = createHash('sha256').update(b).digest()
  return timingSafeEqual(da, db)
}
