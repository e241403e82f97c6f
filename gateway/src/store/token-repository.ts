import { randomBytes } from 'node:crypto'
import type { Database, Statement } from 'better-sqlite3'
import { generateSecret, hashGeneratedSecret } from '../auth/secret-hash.js'
import { GatewayError } from '../errors/gateway-error.js'

/**
 * `admin`: the admin API, for every app (`appId` null) or one. `viewer`: pusher-js channel and
 * user authorization on the gateway for one app, limited to its grants.
 */
export type TokenKind = 'admin' | 'viewer'

export interface Token {
  /** Public handle (`tok_...`) for lists, audit entries and revocation; not the bearer secret. */
  id: string
  kind: TokenKind
  appId: string | null
  /** Viewer grants: channel patterns (`private-device-*`) or device tags (`tag:site=lab`). */
  grants: string[]
  /** The user a viewer token signs in as (pusher-js user authentication, presence). */
  userId: string | null
  label: string | null
  createdAt: number
  expiresAt: number | null
  revokedAt: number | null
  lastUsedAt: number | null
}

export interface NewToken {
  kind: TokenKind
  appId: string | null
  grants?: string[] | undefined
  userId?: string | undefined
  label?: string | undefined
  expiresAt?: number | undefined
}

interface TokenRow {
  id: string
  kind: TokenKind
  app_id: string | null
  grants: string
  user_id: string | null
  label: string | null
  created_at: number
  expires_at: number | null
  revoked_at: number | null
  last_used_at: number | null
}

function toToken(row: TokenRow): Token {
  return {
    id: row.id,
    kind: row.kind,
    appId: row.app_id,
    grants: JSON.parse(row.grants) as string[],
    userId: row.user_id,
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  }
}

/** Why a presented bearer token does not authenticate, or the token itself. */
export type TokenCheck =
  | { ok: true; token: Token }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' }

/** Tokens are stored as the SHA-256 of the bearer string, which is shown once at creation. */
export class TokenRepository {
  readonly #byId: Statement<[string], TokenRow>
  readonly #byHash: Statement<[string], TokenRow>
  readonly #list: Statement<[Record<string, unknown>], TokenRow>
  readonly #insert: Statement<[Record<string, unknown>]>
  readonly #revoke: Statement<[Record<string, unknown>]>
  readonly #used: Statement<[Record<string, unknown>]>

  constructor(db: Database) {
    this.#byId = db.prepare('SELECT * FROM tokens WHERE id = ?')
    this.#byHash = db.prepare('SELECT * FROM tokens WHERE hash = ?')
    this.#list = db.prepare(`SELECT * FROM tokens
      WHERE (@kind IS NULL OR kind = @kind) AND (@appId IS NULL OR app_id = @appId)
      ORDER BY created_at, id`)
    this.#insert = db.prepare(`
      INSERT INTO tokens (id, kind, app_id, hash, grants, user_id, label, created_at, expires_at)
      VALUES (@id, @kind, @appId, @hash, @grants, @userId, @label, @now, @expiresAt)`)
    this.#revoke = db.prepare(
      'UPDATE tokens SET revoked_at = COALESCE(revoked_at, @now) WHERE id = @id',
    )
    this.#used = db.prepare('UPDATE tokens SET last_used_at = @now WHERE id = @id')
  }

  /** Stores a new token; `bearer` is the only copy of the secret and is never stored. */
  create(input: NewToken): { token: Token; bearer: string } {
    const id = `tok_${randomBytes(8).toString('hex')}`
    // The kind is readable in the bearer string, so a leaked one is recognisable in logs.
    const bearer = `fc${input.kind === 'admin' ? 'a' : 'v'}_${generateSecret()}`
    this.#insert.run({
      id,
      kind: input.kind,
      appId: input.appId,
      hash: hashGeneratedSecret(bearer),
      grants: JSON.stringify(input.grants ?? []),
      userId: input.userId ?? null,
      label: input.label ?? null,
      now: Date.now(),
      expiresAt: input.expiresAt ?? null,
    })
    return { token: this.get(id), bearer }
  }

  /** Looks a presented bearer string up by its digest; records the use when it is valid. */
  check(bearer: string, now = Date.now()): TokenCheck {
    const row = this.#byHash.get(hashGeneratedSecret(bearer))
    if (!row) return { ok: false, reason: 'unknown' }
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' }
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' }
    this.#used.run({ id: row.id, now })
    return { ok: true, token: toToken(row) }
  }

  list(filter: { kind?: TokenKind | undefined; appId?: string | undefined } = {}): Token[] {
    return this.#list.all({ kind: filter.kind ?? null, appId: filter.appId ?? null }).map(toToken)
  }

  find(id: string): Token | undefined {
    const row = this.#byId.get(id)
    return row && toToken(row)
  }

  get(id: string): Token {
    const token = this.find(id)
    if (!token) throw new GatewayError('FC_ERR_TOKEN_NOT_FOUND', `Token "${id}" does not exist`)
    return token
  }

  /** Idempotent: revoking a revoked token keeps its first revocation time. */
  revoke(id: string): Token {
    this.get(id)
    this.#revoke.run({ id, now: Date.now() })
    return this.get(id)
  }
}
