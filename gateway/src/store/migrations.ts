import type { Database } from 'better-sqlite3'
import { GatewayError } from '../errors/gateway-error.js'

export interface Migration {
  version: number
  name: string
  up(db: Database): void
}

/** Append only: a released migration is never edited, a change is a new version. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'apps and devices',
    up(db) {
      db.exec(`
        CREATE TABLE apps (
          id            TEXT PRIMARY KEY,
          key           TEXT NOT NULL UNIQUE,
          secret        TEXT NOT NULL,
          enabled       INTEGER NOT NULL DEFAULT 1,
          client_events INTEGER NOT NULL DEFAULT 0,
          webhooks      TEXT NOT NULL DEFAULT '[]',
          created_at    INTEGER NOT NULL,
          updated_at    INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE devices (
          id           TEXT PRIMARY KEY,
          app_id       TEXT NOT NULL REFERENCES apps(id),
          name         TEXT,
          tags         TEXT NOT NULL DEFAULT '{}',
          enabled      INTEGER NOT NULL DEFAULT 1,
          secret_hash  TEXT NOT NULL,
          created_at   INTEGER NOT NULL,
          last_seen_at INTEGER
        ) STRICT;
        CREATE INDEX devices_by_app ON devices(app_id);
      `)
    },
  },
  {
    version: 2,
    name: 'app connection settings',
    up(db) {
      db.exec(`
        ALTER TABLE apps ADD COLUMN max_connections INTEGER;
        ALTER TABLE apps ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE apps ADD COLUMN user_auth_timeout INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE apps ADD COLUMN subscription_count INTEGER NOT NULL DEFAULT 0;
      `)
    },
  },
  {
    version: 3,
    name: 'app limits and webhook queue',
    up(db) {
      db.exec(`
        ALTER TABLE apps ADD COLUMN max_backend_events_per_second INTEGER;
        ALTER TABLE apps ADD COLUMN max_read_requests_per_second INTEGER;
        ALTER TABLE apps ADD COLUMN max_messages_per_day INTEGER;
        CREATE TABLE webhook_queue (
          id              INTEGER PRIMARY KEY AUTOINCREMENT,
          app_id          TEXT NOT NULL,
          url             TEXT NOT NULL,
          body            TEXT NOT NULL,
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL,
          expires_at      INTEGER NOT NULL,
          last_error      TEXT
        ) STRICT;
        CREATE INDEX webhook_queue_due ON webhook_queue(next_attempt_at);
      `)
    },
  },
  {
    version: 4,
    name: 'device rotation, ACL, revocation and login failures',
    up(db) {
      db.exec(`
        ALTER TABLE devices ADD COLUMN previous_secret_hash TEXT;
        ALTER TABLE devices ADD COLUMN previous_secret_expires_at INTEGER;
        ALTER TABLE devices ADD COLUMN acl TEXT;
        ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
        ALTER TABLE devices ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE login_failures (
          id        INTEGER PRIMARY KEY AUTOINCREMENT,
          at        INTEGER NOT NULL,
          device_id TEXT,
          address   TEXT,
          reason    TEXT NOT NULL
        ) STRICT;
        CREATE INDEX login_failures_at ON login_failures(at);
        CREATE INDEX devices_by_update ON devices(updated_at);
      `)
    },
  },
  {
    version: 5,
    name: 'mqtt broker persistence',
    // aedes' session state (gateway/src/mqtt/sqlite-persistence.ts). A packet is its JSON `packet`
    // (every field but the payload) plus its payload as a BLOB; `payload_kind` says how to put the
    // payload back (0: none or kept in the JSON, 1: bytes, 2: UTF-8 string).
    up(db) {
      db.exec(`
        CREATE INDEX IF NOT EXISTS devices_by_update ON devices(updated_at);
        CREATE TABLE mqtt_retained (
          topic        TEXT PRIMARY KEY,
          packet       TEXT NOT NULL,
          payload      BLOB,
          payload_kind INTEGER NOT NULL CHECK (payload_kind IN (0, 1, 2)),
          stored_at    INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE mqtt_subscriptions (
          client_id               TEXT NOT NULL,
          topic                   TEXT NOT NULL,
          qos                     INTEGER NOT NULL,
          rh                      INTEGER,
          rap                     INTEGER,
          nl                      INTEGER,
          subscription_identifier INTEGER,
          PRIMARY KEY (client_id, topic)
        ) STRICT;
        CREATE INDEX mqtt_subscriptions_by_topic ON mqtt_subscriptions(topic);
        CREATE TABLE mqtt_outgoing (
          seq            INTEGER PRIMARY KEY AUTOINCREMENT,
          client_id      TEXT NOT NULL,
          broker_id      TEXT,
          broker_counter INTEGER,
          message_id     INTEGER,
          packet         TEXT NOT NULL,
          payload        BLOB,
          payload_kind   INTEGER NOT NULL CHECK (payload_kind IN (0, 1, 2)),
          enqueued_at    INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX mqtt_outgoing_by_client ON mqtt_outgoing(client_id, seq);
        CREATE INDEX mqtt_outgoing_by_message_id ON mqtt_outgoing(client_id, message_id);
        CREATE INDEX mqtt_outgoing_by_broker_counter
          ON mqtt_outgoing(client_id, broker_id, broker_counter);
        CREATE TABLE mqtt_incoming (
          client_id    TEXT NOT NULL,
          message_id   INTEGER NOT NULL,
          packet       TEXT NOT NULL,
          payload      BLOB,
          payload_kind INTEGER NOT NULL CHECK (payload_kind IN (0, 1, 2)),
          stored_at    INTEGER NOT NULL,
          PRIMARY KEY (client_id, message_id)
        ) STRICT;
        CREATE TABLE mqtt_wills (
          client_id    TEXT PRIMARY KEY,
          broker_id    TEXT,
          packet       TEXT NOT NULL,
          payload      BLOB,
          payload_kind INTEGER NOT NULL CHECK (payload_kind IN (0, 1, 2)),
          stored_at    INTEGER NOT NULL
        ) STRICT;
      `)
    },
  },
  {
    version: 6,
    name: 'tokens, claims and the audit log',
    // Failed device logins move into the audit log, which records every admin action as well.
    up(db) {
      db.exec(`
        CREATE TABLE tokens (
          id           TEXT PRIMARY KEY,
          kind         TEXT NOT NULL CHECK (kind IN ('admin', 'viewer')),
          app_id       TEXT REFERENCES apps(id),
          hash         TEXT NOT NULL UNIQUE,
          grants       TEXT NOT NULL DEFAULT '[]',
          user_id      TEXT,
          label        TEXT,
          created_at   INTEGER NOT NULL,
          expires_at   INTEGER,
          revoked_at   INTEGER,
          last_used_at INTEGER,
          CHECK (kind = 'admin' OR app_id IS NOT NULL)
        ) STRICT;
        CREATE TABLE claims (
          id         TEXT PRIMARY KEY,
          app_id     TEXT NOT NULL REFERENCES apps(id),
          hash       TEXT NOT NULL UNIQUE,
          tags       TEXT NOT NULL DEFAULT '{}',
          label      TEXT,
          uses_left  INTEGER NOT NULL CHECK (uses_left >= 0),
          expires_at INTEGER,
          revoked_at INTEGER,
          created_at INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE audit_log (
          id     INTEGER PRIMARY KEY AUTOINCREMENT,
          at     INTEGER NOT NULL,
          actor  TEXT NOT NULL,
          action TEXT NOT NULL,
          app_id TEXT,
          target TEXT,
          result TEXT NOT NULL,
          detail TEXT
        ) STRICT;
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE INDEX audit_log_by_target ON audit_log(target, at);
        INSERT INTO audit_log (at, actor, action, target, result, detail)
          SELECT at, COALESCE('address:' || address, 'unknown'), 'device.login', device_id,
            'refused', json_object('reason', reason)
          FROM login_failures ORDER BY id;
        DROP TABLE login_failures;
        ALTER TABLE devices ADD COLUMN connected_at INTEGER;
      `)
    },
  },
]

/**
 * Brings the schema to the newest version, one transaction per migration, and records each in
 * `schema_migrations`. Returns the versions applied by this call.
 */
export function migrate(db: Database, list: readonly Migration[] = migrations): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL
  ) STRICT`)
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as {
    v: number | null
  }
  const current = row.v ?? 0
  const newest = list.at(-1)?.version ?? 0
  if (current > newest) {
    throw new GatewayError(
      'FC_ERR_STORE_SCHEMA',
      `The store is at schema version ${current}, newer than this Fleetcast knows (${newest}); upgrade Fleetcast or use another store.path`,
    )
  }
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  )
  const applied: number[] = []
  for (const migration of list) {
    if (migration.version <= current) continue
    try {
      db.transaction(() => {
        migration.up(db)
        record.run(migration.version, migration.name, Date.now())
      })()
    } catch (error) {
      throw new GatewayError(
        'FC_ERR_STORE_SCHEMA',
        `Migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
        { cause: error },
      )
    }
    applied.push(migration.version)
  }
  return applied
}
