import type { Database, Statement } from 'better-sqlite3'
import type { App } from '../domain/app.js'
import { GatewayError } from '../errors/gateway-error.js'

interface AppRow {
  id: string
  key: string
  secret: string
  enabled: number
  client_events: number
  webhooks: string
  max_connections: number | null
  allowed_origins: string
  user_auth_timeout: number
  subscription_count: number
  max_backend_events_per_second: number | null
  max_read_requests_per_second: number | null
  max_messages_per_day: number | null
}

function toApp(row: AppRow): App {
  return {
    id: row.id,
    key: row.key,
    secret: row.secret,
    enabled: row.enabled === 1,
    clientEvents: row.client_events === 1,
    webhooks: JSON.parse(row.webhooks) as App['webhooks'],
    maxConnections: row.max_connections,
    allowedOrigins: JSON.parse(row.allowed_origins) as string[],
    userAuthenticationTimeout: row.user_auth_timeout,
    subscriptionCount: row.subscription_count === 1,
    maxBackendEventsPerSecond: row.max_backend_events_per_second,
    maxReadRequestsPerSecond: row.max_read_requests_per_second,
    maxMessagesPerDay: row.max_messages_per_day,
  }
}

function toRow(app: App, now: number): Record<string, unknown> {
  return {
    id: app.id,
    key: app.key,
    secret: app.secret,
    enabled: app.enabled ? 1 : 0,
    clientEvents: app.clientEvents ? 1 : 0,
    webhooks: JSON.stringify(app.webhooks),
    maxConnections: app.maxConnections,
    allowedOrigins: JSON.stringify(app.allowedOrigins),
    userAuthTimeout: app.userAuthenticationTimeout,
    subscriptionCount: app.subscriptionCount ? 1 : 0,
    maxBackendEvents: app.maxBackendEventsPerSecond,
    maxReadRequests: app.maxReadRequestsPerSecond,
    maxMessagesPerDay: app.maxMessagesPerDay,
    now,
  }
}

/**
 * Apps keep their secret in clear: it is the HMAC key for channel auth, REST signatures and
 * webhooks, so it must be recoverable (Pusher and soketi store it the same way).
 */
export class AppRepository {
  readonly #byId: Statement<[string], AppRow>
  readonly #byKey: Statement<[string], AppRow>
  readonly #all: Statement<[], AppRow>
  readonly #count: Statement<[], { n: number }>
  readonly #upsert: Statement<[Record<string, unknown>]>
  readonly #setSecret: Statement<[Record<string, unknown>]>
  readonly #setEnabled: Statement<[Record<string, unknown>]>
  readonly #deviceCount: Statement<[string], { n: number }>
  /**
   * Apps are read on every message (quotas, webhooks, subscription counts) and change rarely:
   * lookups are cached, cleared by this repository's writes and by `invalidate()`, which the
   * gateway calls when another process writes to the store.
   */
  readonly #cachedById = new Map<string, App>()
  readonly #cachedByKey = new Map<string, App>()

  constructor(db: Database) {
    this.#byId = db.prepare('SELECT * FROM apps WHERE id = ?')
    this.#byKey = db.prepare('SELECT * FROM apps WHERE key = ?')
    this.#all = db.prepare('SELECT * FROM apps ORDER BY id')
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM apps')
    this.#upsert = db.prepare(`
      INSERT INTO apps (id, key, secret, enabled, client_events, webhooks, max_connections,
        allowed_origins, user_auth_timeout, subscription_count, max_backend_events_per_second,
        max_read_requests_per_second, max_messages_per_day, created_at, updated_at)
      VALUES (@id, @key, @secret, @enabled, @clientEvents, @webhooks, @maxConnections,
        @allowedOrigins, @userAuthTimeout, @subscriptionCount, @maxBackendEvents, @maxReadRequests,
        @maxMessagesPerDay, @now, @now)
      ON CONFLICT(id) DO UPDATE SET key = excluded.key, secret = excluded.secret,
        enabled = excluded.enabled, client_events = excluded.client_events,
        webhooks = excluded.webhooks, max_connections = excluded.max_connections,
        allowed_origins = excluded.allowed_origins, user_auth_timeout = excluded.user_auth_timeout,
        subscription_count = excluded.subscription_count,
        max_backend_events_per_second = excluded.max_backend_events_per_second,
        max_read_requests_per_second = excluded.max_read_requests_per_second,
        max_messages_per_day = excluded.max_messages_per_day, updated_at = excluded.updated_at`)
    this.#setSecret = db.prepare(
      'UPDATE apps SET secret = @secret, updated_at = @now WHERE id = @id',
    )
    this.#setEnabled = db.prepare(
      'UPDATE apps SET enabled = @enabled, updated_at = @now WHERE id = @id',
    )
    this.#deviceCount = db.prepare('SELECT COUNT(*) AS n FROM devices WHERE app_id = ?')
  }

  findById(id: string): App | undefined {
    const cached = this.#cachedById.get(id)
    if (cached) return cached
    const row = this.#byId.get(id)
    return row && this.#remember(toApp(row))
  }

  findByKey(key: string): App | undefined {
    const cached = this.#cachedByKey.get(key)
    if (cached) return cached
    const row = this.#byKey.get(key)
    return row && this.#remember(toApp(row))
  }

  /** Forgets cached apps; the next lookups read the store again. */
  invalidate(): void {
    this.#cachedById.clear()
    this.#cachedByKey.clear()
  }

  #remember(app: App): App {
    // Only stored apps are cached, so unknown ids sent by clients cannot grow the maps.
    this.#cachedById.set(app.id, app)
    this.#cachedByKey.set(app.key, app)
    return app
  }

  list(): App[] {
    return this.#all.all().map(toApp)
  }

  count(): number {
    return this.#count.get()?.n ?? 0
  }

  /** Inserts or updates by id. A key already used by another app is refused by name. */
  upsert(app: App): App {
    const holder = this.findByKey(app.key)
    if (holder && holder.id !== app.id) {
      throw new GatewayError(
        'FC_ERR_APP_CONFLICT',
        `App "${app.id}" has key "${app.key}", which stored app "${holder.id}" already uses`,
      )
    }
    this.#upsert.run(toRow(app, Date.now()))
    this.invalidate()
    const stored = this.findById(app.id)
    if (!stored) throw new Error(`app ${app.id} vanished right after upsert`)
    return stored
  }

  /** Adds a new app; unlike `upsert`, an id already taken is refused. */
  create(app: App): App {
    if (this.findById(app.id)) {
      throw new GatewayError('FC_ERR_APP_EXISTS', `App "${app.id}" already exists`)
    }
    return this.upsert(app)
  }

  setSecret(id: string, secret: string): App {
    this.get(id)
    this.#setSecret.run({ id, secret, now: Date.now() })
    this.invalidate()
    return this.get(id)
  }

  setEnabled(id: string, enabled: boolean): App {
    this.get(id)
    this.#setEnabled.run({ id, enabled: enabled ? 1 : 0, now: Date.now() })
    this.invalidate()
    return this.get(id)
  }

  deviceCount(id: string): number {
    return this.#deviceCount.get(id)?.n ?? 0
  }

  /** The app, or FC_ERR_APP_NOT_FOUND. */
  get(id: string): App {
    const app = this.findById(id)
    if (!app) throw new GatewayError('FC_ERR_APP_NOT_FOUND', `App "${id}" does not exist`)
    return app
  }
}
