import { randomBytes } from 'node:crypto'
import type { Database, Statement } from 'better-sqlite3'
import { generateSecret, hashGeneratedSecret } from '../auth/secret-hash.js'
import { GatewayError } from '../errors/gateway-error.js'

/** A provisioning claim: a shared secret a batch of devices trade for their own credentials. */
export interface Claim {
  /** Public handle (`clm_...`); the claim secret itself is shown once at creation. */
  id: string
  appId: string
  /** Tags every device provisioned with this claim gets. */
  tags: Record<string, string>
  label: string | null
  usesLeft: number
  createdAt: number
  expiresAt: number | null
  revokedAt: number | null
}

export interface NewClaim {
  appId: string
  tags?: Record<string, string> | undefined
  label?: string | undefined
  uses: number
  expiresAt?: number | undefined
}

interface ClaimRow {
  id: string
  app_id: string
  tags: string
  label: string | null
  uses_left: number
  created_at: number
  expires_at: number | null
  revoked_at: number | null
}

function toClaim(row: ClaimRow): Claim {
  return {
    id: row.id,
    appId: row.app_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    label: row.label,
    usesLeft: row.uses_left,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  }
}

export type ClaimCheck =
  | { ok: true; claim: Claim }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'used-up' }

export class ClaimRepository {
  readonly #byId: Statement<[string], ClaimRow>
  readonly #byHash: Statement<[string], ClaimRow>
  readonly #list: Statement<[Record<string, unknown>], ClaimRow>
  readonly #insert: Statement<[Record<string, unknown>]>
  readonly #revoke: Statement<[Record<string, unknown>]>
  readonly #spend: Statement<[string]>

  constructor(db: Database) {
    this.#byId = db.prepare('SELECT * FROM claims WHERE id = ?')
    this.#byHash = db.prepare('SELECT * FROM claims WHERE hash = ?')
    this.#list = db.prepare(
      'SELECT * FROM claims WHERE (@appId IS NULL OR app_id = @appId) ORDER BY created_at, id',
    )
    this.#insert = db.prepare(`
      INSERT INTO claims (id, app_id, hash, tags, label, uses_left, created_at, expires_at)
      VALUES (@id, @appId, @hash, @tags, @label, @uses, @now, @expiresAt)`)
    this.#revoke = db.prepare(
      'UPDATE claims SET revoked_at = COALESCE(revoked_at, @now) WHERE id = @id',
    )
    // Guarded so two devices racing for the last use cannot both win.
    this.#spend = db.prepare(
      'UPDATE claims SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0',
    )
  }

  /** Stores a new claim; `secret` is the only copy of what devices present. */
  create(input: NewClaim): { claim: Claim; secret: string } {
    if (!Number.isInteger(input.uses) || input.uses < 1) {
      throw new GatewayError(
        'FC_ERR_CLAIM_INVALID',
        `uses must be a whole number ≥ 1, got ${input.uses}`,
      )
    }
    const id = `clm_${randomBytes(8).toString('hex')}`
    const secret = `fcc_${generateSecret()}`
    this.#insert.run({
      id,
      appId: input.appId,
      hash: hashGeneratedSecret(secret),
      tags: JSON.stringify(input.tags ?? {}),
      label: input.label ?? null,
      uses: input.uses,
      now: Date.now(),
      expiresAt: input.expiresAt ?? null,
    })
    return { claim: this.get(id), secret }
  }

  /** The claim a presented secret belongs to, when it can still be used. */
  check(secret: string, now = Date.now()): ClaimCheck {
    const row = this.#byHash.get(hashGeneratedSecret(secret))
    if (!row) return { ok: false, reason: 'unknown' }
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' }
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' }
    if (row.uses_left <= 0) return { ok: false, reason: 'used-up' }
    return { ok: true, claim: toClaim(row) }
  }

  /** The claim a presented secret belongs to, usable or not: audit entries of refusals name it. */
  findBySecret(secret: string): Claim | undefined {
    const row = this.#byHash.get(hashGeneratedSecret(secret))
    return row && toClaim(row)
  }

  /** Takes one use; false when another request took the last one first. Call in a transaction. */
  spend(id: string): boolean {
    return this.#spend.run(id).changes === 1
  }

  list(filter: { appId?: string | undefined } = {}): Claim[] {
    return this.#list.all({ appId: filter.appId ?? null }).map(toClaim)
  }

  find(id: string): Claim | undefined {
    const row = this.#byId.get(id)
    return row && toClaim(row)
  }

  get(id: string): Claim {
    const claim = this.find(id)
    if (!claim) throw new GatewayError('FC_ERR_CLAIM_NOT_FOUND', `Claim "${id}" does not exist`)
    return claim
  }

  revoke(id: string): Claim {
    this.get(id)
    this.#revoke.run({ id, now: Date.now() })
    return this.get(id)
  }
}
