// Runs aedes-persistence's abstract test suite (node:test) against the SQLite persistence,
// compiled in gateway/dist (`npm run build`). Each case gets a fresh store file with the
// gateway's pragmas and migrations. Run by gateway/test/sqlite-persistence.test.ts, or alone:
//   node --test gateway/test/sqlite-persistence-abstract.mjs
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { createSqlitePersistence } from '../dist/mqtt/sqlite-persistence.js'
import { migrate } from '../dist/store/migrations.js'

const require = createRequire(import.meta.url)
const abstractPersistence = require('aedes-persistence/abstract.js')

const dir = mkdtempSync(join(tmpdir(), 'fleetcast-aedes-abstract-'))
const databases = []

abstractPersistence({
  test,
  // the async interface aedes 1.x calls: setup(broker), promises, no callbacks
  testAsync: true,
  persistence: () => {
    const db = new BetterSqlite3(join(dir, `case-${databases.length + 1}.db`))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    migrate(db)
    databases.push(db)
    return createSqlitePersistence(db)
  },
})

after(() => {
  for (const db of databases) db.close()
  rmSync(dir, { recursive: true, force: true })
})
