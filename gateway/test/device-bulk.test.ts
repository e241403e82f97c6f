import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closed, connectAs, mqttUrl, refusalCode } from '../../test/support/device.js'
import { spawnCli } from '../../test/support/spawn-cli.js'
import { startTestGateway, tempDir, testApp } from '../../test/support/test-gateway.js'
import { verifySecret } from '../src/auth/secret-hash.js'
import type { Device } from '../src/domain/device.js'
import { DEFAULT_ACL } from '../src/domain/device-acl.js'
import type { ImportReport } from '../src/fleet/bulk/import-report.js'
import { openStore, type Store } from '../src/store/open-store.js'
import { type CliResult, configFile, run } from './cli-harness.js'

const otherApp = { id: 'app-2', key: 'app-key-2', secret: 'app-secret-2' } as const
const HEADER = 'id,app,name,tags,acl_publish,acl_subscribe,enabled'

interface Fleet {
  dir: string
  storePath: string
  /** `fleetcast --config <this fleet's config> <args>`, in this process. */
  cli(...args: string[]): Promise<CliResult>
  /** The store, opened for a look and closed after the test. */
  store(): Store
  /** A file in this fleet's temporary directory. */
  file(name: string, content?: string): string
}

/** A config with its own store file and `apps` (testApp, and otherApp unless told otherwise). */
function fleet(apps: readonly (typeof testApp | typeof otherApp)[] = [testApp, otherApp]): Fleet {
  const dir = tempDir('fleetcast-bulk-')
  return fleetOn(dir, join(dir, 'f.db'), apps)
}

function fleetOn(
  dir: string,
  storePath: string,
  apps: readonly (typeof testApp | typeof otherApp)[],
): Fleet {
  const appLines = apps.map((a) => `  - id: ${a.id}\n    key: ${a.key}\n    secret: ${a.secret}\n`)
  const config = configFile(`store:\n  path: ${storePath}\napps:\n${appLines.join('')}`)
  return {
    dir,
    storePath,
    cli: (...args) => run(['--config', config, ...args]),
    store: () => {
      const store = openStore(storePath)
      onTestFinished(() => store.close())
      return store
    },
    file: (name, content) => {
      const path = join(dir, name)
      if (content !== undefined) writeFileSync(path, content)
      return path
    },
  }
}

function report(result: CliResult): ImportReport {
  return JSON.parse(result.stdout) as ImportReport
}

function secretsIn(path: string): Map<string, string> {
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n')
  expect(header).toBe('id,secret')
  return new Map(lines.map((line) => line.split(',') as [string, string]))
}

interface Generated {
  csv: string
  /** Every bad row: its physical line and the field the report must name (null: whole row). */
  bad: { line: number; field: string | null }[]
  goodIds: string[]
}

/**
 * `rows` data rows, mostly good, with every kind of bad row mixed in at fixed intervals. Good rows
 * carry names with commas, quotes and SQL, and tags in both cell forms.
 */
function generateCsv(rows: number): Generated {
  const lines = [HEADER]
  const bad: Generated['bad'] = []
  const goodIds: string[] = []
  const badRow = (cells: string, field: string | null) => {
    lines.push(cells)
    bad.push({ line: lines.length, field })
  }
  const kinds = [
    () => badRow('bad id!,app-1,,,,,', 'id'),
    () => badRow(`x'; DROP TABLE devices;--,app-1,,,,,`, 'id'),
    () => badRow(`ghost-${lines.length},ghost-app,,,,,`, 'app'),
    () => badRow(`tags-${lines.length},app-1,,site,,,`, 'tags'),
    () => badRow(`sql-tags-${lines.length},app-1,,k='; DELETE FROM devices;--,,,`, 'tags'),
    () => badRow(`app-sql-${lines.length},"app-1' OR '1'='1",,,,,`, 'app'),
    () => badRow(`short-${lines.length},app-1`, null),
    () => badRow(`flag-${lines.length},app-1,,,,,1; DROP TABLE apps`, 'enabled'),
    () => badRow(`acl-${lines.length},app-1,,,devices/#/x,,`, 'acl_publish'),
    () => {
      const id = `twin-${lines.length}`
      badRow(`${id},app-1,first,,,,`, 'id')
      badRow(`${id},app-1,second,,,,`, 'id')
    },
  ]
  let kind = 0
  for (let i = 0; lines.length < rows + 1; i += 1) {
    if (i % 997 === 500) {
      kinds[kind % kinds.length]?.()
      kind += 1
      continue
    }
    const id = `dev-${String(i).padStart(6, '0')}`
    goodIds.push(id)
    const name = i % 3 === 0 ? `"Robert'); DROP TABLE devices;--, ""${i}"""` : `Sensor ${i}`
    const tags = i % 2 === 0 ? `site=lab;rack=${i % 40}` : `"{""note"":""1' OR '1'='1; --""}"`
    lines.push(`${id},${i % 5 === 0 ? otherApp.id : testApp.id},${name},${tags},,,${i % 7 !== 0}`)
  }
  return { csv: `${lines.join('\r\n')}\r\n`, bad, goodIds }
}

describe('fleetcast devices import: 100,000 rows through the spawned CLI', () => {
  it('imports the good rows, reports every bad row by line and field, and is idempotent', async () => {
    const target = fleet()
    const generated = generateCsv(100_000)
    const input = target.file('devices.csv', generated.csv)
    const secretsOut = target.file('secrets.csv')
    const config = configFile(
      `store:\n  path: ${target.storePath}\napps:\n  - id: ${testApp.id}\n    key: ${testApp.key}\n    secret: ${testApp.secret}\n  - id: ${otherApp.id}\n    key: ${otherApp.key}\n    secret: ${otherApp.secret}\n`,
    )

    const started = performance.now()
    const first = spawnCli([
      '--config',
      config,
      'devices',
      'import',
      input,
      '--secrets-out',
      secretsOut,
      '--json',
    ])
    expect(await first.exited).toBe(2)
    const importMs = performance.now() - started
    const imported = JSON.parse(first.stdout()) as ImportReport
    // No progress bar when stderr is not a terminal: only the closing summary.
    expect(first.stderr()).toMatch(/^fleetcast: \d+ of 100000 rows are invalid and were skipped/)

    const good = generated.goodIds.length
    expect(imported).toMatchObject({
      rows: 100_000,
      created: good,
      updated: 0,
      unchanged: 0,
      invalid: generated.bad.length,
    })
    expect(
      imported.problems.map((p) => ({ line: 'line' in p ? p.line : -1, field: p.field })),
    ).toEqual(generated.bad)
    expect(statSync(secretsOut).mode & 0o777).toBe(0o600)

    const store = target.store()
    expect(store.devices.list().map((d) => d.id)).toEqual([...generated.goodIds].sort())
    expect(store.devices.find('dev-000003')).toMatchObject({
      name: `Robert'); DROP TABLE devices;--, "3"`,
      tags: { note: "1' OR '1'='1; --" },
      appId: testApp.id,
      enabled: true,
    })
    expect(store.devices.find('dev-000007')?.enabled).toBe(false)
    expect(store.devices.find('dev-000005')?.appId).toBe(otherApp.id)

    const secrets = secretsIn(secretsOut)
    expect([...secrets.keys()].sort()).toEqual([...generated.goodIds].sort())
    for (const [id, secret] of secrets) {
      const [hash] = store.devices.findCredentials(id)?.secretHashes ?? []
      expect(await verifySecret(secret, hash ?? '')).toBe(true)
    }

    const again = performance.now()
    const second = spawnCli(['--config', config, 'devices', 'import', input, '--json'])
    expect(await second.exited).toBe(2)
    const reimportMs = performance.now() - again
    expect(JSON.parse(second.stdout())).toEqual({ ...imported, created: 0, unchanged: good })

    console.log(
      `100,000-row CSV (${generated.bad.length} bad rows): import ${Math.round(importMs)} ms, re-import ${Math.round(reimportMs)} ms (spawned CLI, real store file)`,
    )
  }, 180_000)
})

describe('fleetcast devices import: secrets', () => {
  it('gives each new device a secret that logs in over MQTT; a chosen secret is hashed with scrypt', async () => {
    const gateway = await startTestGateway()
    const target = fleetOn(tempDir(), gateway.storePath, [testApp])
    const secretsOut = target.file('secrets.csv')
    const input = target.file(
      'd.csv',
      "id,name,secret,enabled\nfresh-1,Generated,,\nchosen-1,Chosen,' OR ''=' --pass,\noff-1,Off,,false\n",
    )

    const result = await target.cli('devices', 'import', input, '--secrets-out', secretsOut)
    expect(result).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/^Hashing 1 chosen secret/),
    })
    expect(result.stdout).toBe(
      'Created 3, updated 0, unchanged 0, invalid 0 (of 3 rows).\n' +
        `Secrets of 2 new device(s) written to ${secretsOut} (readable by you only); they are shown nowhere else.\n`,
    )
    const secrets = secretsIn(secretsOut)
    expect([...secrets.keys()]).toEqual(['fresh-1', 'off-1'])

    const device = await connectAs(gateway, 'fresh-1', secrets.get('fresh-1') ?? '')
    expect(device.connected).toBe(true)
    // Disabled by an import on the store file: the running gateway notices and closes the session.
    const wentAway = closed(device)
    const disable = await target.cli(
      'devices',
      'import',
      target.file('off.csv', 'id,enabled\nfresh-1,no\n'),
    )
    expect(disable.stdout).toMatch(/^Created 0, updated 1,/)
    await wentAway
    const chosen = await connectAs(gateway, 'chosen-1', "' OR ''=' --pass")
    expect(chosen.connected).toBe(true)
    expect(gateway.gateway.store.devices.findCredentials('chosen-1')?.secretHashes[0]).toMatch(
      /^scrypt\$/,
    )
    const off = { clientId: 'off-1', username: 'off-1', password: secrets.get('off-1') ?? '' }
    expect(await refusalCode(mqttUrl(gateway), off)).toBe(5)
  })

  it('refuses to create devices without a way to give them secrets, naming --secrets-out', async () => {
    const target = fleet()
    const input = target.file('d.csv', `${HEADER}\nnew-1,app-1,,,,,\n`)
    const result = await target.cli('devices', 'import', input)
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'fleetcast: 1 row(s) would create new devices (the first: "new-1"), which need secrets: pass --secrets-out FILE to have them generated and written there (admin API: generateSecrets=true), or add a secret column\n',
    )
    expect(target.store().devices.list()).toEqual([])

    const withColumn = target.file(
      's.csv',
      'id,app,secret\nnew-1,app-1,\nnew-2,app-1,long-enough\nnew-3,app-1,short\n',
    )
    const partial = await target.cli('devices', 'import', withColumn)
    expect(partial.code).toBe(2)
    expect(partial.stdout).toBe(
      [
        'Created 1, updated 0, unchanged 0, invalid 2 (of 3 rows).',
        '  line 2 (new-1), secret: is empty: a new device needs one here, or --secrets-out FILE to generate one',
        '  line 4 (new-3), secret: is shorter than 8 characters',
        '',
      ].join('\n'),
    )
  })

  it('never overwrites a file: --secrets-out and --out must name new files', async () => {
    const target = fleet()
    const existing = target.file('taken.csv', 'keep me\n')
    const input = target.file('d.csv', `${HEADER}\nnew-1,app-1,,,,,\n`)
    for (const args of [
      ['devices', 'import', input, '--secrets-out', existing],
      ['devices', 'import', input, '--secrets-out', existing, '--dry-run'],
      ['devices', 'export', '--out', existing],
    ]) {
      const result = await target.cli(...args)
      expect(result.code).toBe(5)
      expect(result.stderr).toContain(`${existing} already exists; name a new file`)
    }
    expect(readFileSync(existing, 'utf8')).toBe('keep me\n')
    expect(target.store().devices.list()).toEqual([])
    const missingDir = await target.cli(
      'devices',
      'import',
      input,
      '--secrets-out',
      '/nonexistent/dir/s.csv',
    )
    expect(missingDir).toMatchObject({ code: 2, stderr: expect.stringContaining('ENOENT') })
  })
})

describe('fleetcast devices import: policy', () => {
  it('re-importing the same file changes nothing and says so', async () => {
    const target = fleet()
    const input = target.file(
      'd.csv',
      `${HEADER}\na-1,app-1,"North, ""A""",site=lab,devices/a-1/#,[],false\na-2,app-2,,"{""k"":""x;y""}",,,true\n`,
    )
    expect(
      (await target.cli('devices', 'import', input, '--secrets-out', target.file('s1.csv'))).code,
    ).toBe(0)
    const before = target.store().devices.list()

    const again = await target.cli('devices', 'import', input)
    expect(again).toEqual({
      code: 0,
      stdout:
        'Created 0, updated 0, unchanged 2, invalid 0 (of 2 rows).\nNothing to change: every device is already as the file describes it.\n',
      stderr: '',
    })
    expect(target.store().devices.list()).toEqual(before)
  })

  it('updates only the fields the file has; a new name keeps the device connected', async () => {
    const target = fleet()
    const seed = target.file(
      'd.csv',
      'id,app,name,tags\na-1,app-1,Old,site=lab\na-2,app-1,Keep,site=lab\n',
    )
    expect(
      (await target.cli('devices', 'import', seed, '--secrets-out', target.file('s.csv'))).code,
    ).toBe(0)
    const [a1, a2] = target.store().devices.list()

    const edit = target.file('e.csv', 'id,name,enabled\na-1,New,\na-2,Keep,false\n')
    const result = await target.cli('devices', 'import', edit, '--json')
    expect(report(result)).toMatchObject({ created: 0, updated: 2, unchanged: 0, invalid: 0 })
    const [b1, b2] = target.store().devices.list()
    // Same updatedAt: a new name does not end the device's session.
    expect(b1).toEqual({ ...a1, name: 'New' })
    expect(b2).toEqual({ ...a2, enabled: false, updatedAt: b2?.updatedAt })
  })

  it('refuses rows whose app differs from the stored device, from --app, or is ambiguous', async () => {
    const target = fleet()
    const seed = target.file('d.csv', 'id,app\nmine,app-1\n')
    expect(
      (await target.cli('devices', 'import', seed, '--secrets-out', target.file('s.csv'))).code,
    ).toBe(0)

    const moved = target.file('m.csv', 'id,app\nmine,app-2\nnew-1,app-2\n')
    const forced = await target.cli(
      'devices',
      'import',
      moved,
      '--app',
      'app-1',
      '--dry-run',
      '--secrets-out',
      target.file('n.csv'),
    )
    expect(forced.stdout).toBe(
      [
        'Dry run, nothing written: would have created 0, updated 0, unchanged 0, invalid 2 (of 2 rows).',
        '  line 2 (mine), app: names app "app-2", but the import is for app "app-1"',
        '  line 3 (new-1), app: names app "app-2", but the import is for app "app-1"',
        '',
      ].join('\n'),
    )
    const free = await target.cli(
      'devices',
      'import',
      moved,
      '--json',
      '--secrets-out',
      target.file('o.csv'),
    )
    expect(report(free).problems).toEqual([
      {
        line: 2,
        id: 'mine',
        field: 'app',
        reason: 'is "app-2", but the device belongs to app "app-1"',
      },
    ])
    expect(report(free).created).toBe(1)

    const noApp = target.file('x.csv', 'id,name\nmine,renamed\nnew-2,x\n')
    const ambiguous = await target.cli(
      'devices',
      'import',
      noApp,
      '--json',
      '--secrets-out',
      target.file('p.csv'),
    )
    expect(report(ambiguous)).toMatchObject({ updated: 1, created: 0, invalid: 1 })
    expect(report(ambiguous).problems[0]).toMatchObject({ line: 3, field: 'app' })
    expect((await target.cli('devices', 'import', noApp, '--app', 'nope')).stderr).toBe(
      'fleetcast: App "nope" does not exist\n',
    )
  })

  it('reports every row of an id that appears twice, valid or not, and imports none of them', async () => {
    const target = fleet()
    const input = target.file(
      'd.csv',
      'id,app,tags\ndup,app-1,site=lab\nother,app-1,\ndup,app-1,broken\n',
    )
    const secretsOut = target.file('s.csv')
    const result = await target.cli('devices', 'import', input, '--secrets-out', secretsOut)
    expect(result).toMatchObject({
      code: 2,
      stderr:
        'fleetcast: 2 of 3 rows are invalid and were skipped; the report lists each with its line and field\n',
    })
    expect(result.stdout).toBe(
      [
        'Created 1, updated 0, unchanged 0, invalid 2 (of 3 rows).',
        '  line 2 (dup), id: appears more than once (lines 2, 4); none of these rows is imported',
        '  line 4 (dup), tags: "broken" is not key=value',
        '  line 4 (dup), id: appears more than once (lines 2, 4); none of these rows is imported',
        `Secrets of 1 new device(s) written to ${secretsOut} (readable by you only); they are shown nowhere else.`,
        '',
      ].join('\n'),
    )
    expect(
      target
        .store()
        .devices.list()
        .map((d) => d.id),
    ).toEqual(['other'])
  })

  it('a dry run reports what would change and writes nothing, not even the secrets file', async () => {
    const target = fleet()
    const input = target.file('d.csv', 'id,app\nn-1,app-1\nn-2,app-2\nbad!,app-1\n')
    const secretsOut = target.file('s.csv')
    const dry = await target.cli(
      'devices',
      'import',
      input,
      '--dry-run',
      '--json',
      '--secrets-out',
      secretsOut,
    )
    expect(dry.code).toBe(2)
    expect(report(dry)).toMatchObject({ dryRun: true, created: 2, invalid: 1 })
    expect(existsSync(secretsOut)).toBe(false)
    const store = target.store()
    expect(store.devices.list()).toEqual([])
    expect(store.audit.query({ action: 'device.import' })).toEqual([])
  })

  it('writes one audit entry per import with the counts and never a secret', async () => {
    const target = fleet()
    const input = target.file(
      'd.csv',
      'id,app,secret\nn-1,app-1,\nn-2,app-1,chosen-secret-2\nbad!,app-1,\n',
    )
    const secretsOut = target.file('s.csv')
    await target.cli('devices', 'import', input, '--secrets-out', secretsOut)
    await target.cli('devices', 'import', target.file('e.csv', ''))
    const entries = target.store().audit.query({ action: 'device.import' })
    expect(entries.map(({ actor, result, detail }) => ({ actor, result, detail }))).toEqual([
      {
        actor: 'cli',
        result: 'FC_ERR_IMPORT_FORMAT',
        detail: {
          format: 'csv',
          error: 'The file is empty: expected a header row such as id,app,name,tags',
        },
      },
      {
        actor: 'cli',
        result: 'ok',
        detail: { format: 'csv', rows: 3, created: 2, updated: 0, unchanged: 0, invalid: 1 },
      },
    ])
    const logged = JSON.stringify(entries)
    for (const secret of [...secretsIn(secretsOut).values(), 'chosen-secret-2']) {
      expect(logged).not.toContain(secret)
    }
  })
})

describe('fleetcast devices import: files refused whole', () => {
  const refusals: [string, string, string][] = [
    [
      'unterminated quote',
      `${HEADER}\nok-1,app-1,,,,,\nbad,app-1,"never closed,,,,\nok-2,app-1,,,,,\n`,
      'The file is not valid CSV: line 3: a quoted field starts in this record and is never closed',
    ],
    ['unknown column', 'id,app,colour\nok-1,app-1,red\n', 'unknown column "colour"'],
    ['empty file', '', 'The file is empty'],
  ]
  for (const [what, content, message] of refusals) {
    it(`refuses a CSV file with ${what} before writing anything (exit 2)`, async () => {
      const target = fleet()
      const secretsOut = target.file('s.csv')
      const result = await target.cli(
        'devices',
        'import',
        target.file('d.csv', content),
        '--secrets-out',
        secretsOut,
      )
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(message)
      expect(result.stdout).toBe('')
      expect(target.store().devices.list()).toEqual([])
      expect(existsSync(secretsOut)).toBe(false)
    })
  }

  it('refuses JSON that is not an array, and JSON with an unknown field', async () => {
    const target = fleet()
    const object = await target.cli('devices', 'import', target.file('o.json', '{"id":"a-1"}'))
    expect(object).toMatchObject({
      code: 2,
      stderr: 'fleetcast: The file must hold a JSON array of device objects, not object\n',
    })
    const unknown = await target.cli(
      'devices',
      'import',
      target.file('u.json', '[{"id":"a-1","tag":{}}]'),
    )
    expect(unknown.stderr).toContain('index 0: unknown column "tag"')
    const missing = await target.cli('devices', 'import', target.file('nope.json'))
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('ENOENT') })
  })

  it('reports JSON rows with wrong types, missing ids and SQL in every field by index', async () => {
    const target = fleet()
    const rows = [
      {
        id: 'ok-1',
        app: 'app-1',
        tags: { q: "'; DROP TABLE devices;--" },
        acl_publish: ["devices/'x'/#"],
      },
      { id: 7 },
      { app: 'app-1' },
      { id: "x' OR 1=1", app: 'app-1' },
      {
        id: 'ok-2',
        app: "app-1'--",
        name: {},
        tags: 5,
        enabled: 'maybe',
        acl_subscribe: 'a/#/b',
        secret: 42,
      },
    ]
    const result = await target.cli(
      'devices',
      'import',
      target.file('d.json', JSON.stringify(rows)),
      '--json',
      '--secrets-out',
      target.file('s.csv'),
    )
    expect(result.code).toBe(2)
    const problems = report(result).problems.map(
      ({ index, field }: { index?: number; field: string | null }) => [index, field],
    )
    expect(problems).toEqual([
      [1, 'id'],
      [2, 'id'],
      [3, 'id'],
      [4, 'app'],
      [4, 'name'],
      [4, 'tags'],
      [4, 'enabled'],
      [4, 'secret'],
      [4, 'acl_subscribe'],
    ])
    expect(report(result)).toMatchObject({ rows: 5, created: 1, invalid: 4 })
    expect(target.store().devices.find('ok-1')).toMatchObject({
      tags: { q: "'; DROP TABLE devices;--" },
      acl: { publish: ["devices/'x'/#"], subscribe: DEFAULT_ACL.subscribe },
    })
  })
})

describe('fleetcast devices export', () => {
  const rich = [
    HEADER,
    'a-1,app-1,"North, ""A""",site=lab;floor=2,devices/a-1/#;alerts/#,[],false',
    'a-2,app-1,"Robert\'); DROP TABLE devices;--",,,,true',
    'b-1,app-2,,"{""note"":""x;y""}",b/#,"[""b;c""]",true',
    '',
  ].join('\n')

  it('round-trips: export, import into a new store, export again gives the same file (CSV and JSON)', async () => {
    const source = fleet()
    expect(
      (
        await source.cli(
          'devices',
          'import',
          source.file('d.csv', rich),
          '--secrets-out',
          source.file('s.csv'),
        )
      ).code,
    ).toBe(0)
    for (const format of ['csv', 'json']) {
      const exported = await source.cli('devices', 'export', '--format', format)
      expect(exported.code).toBe(0)
      const copy = fleet()
      const input = copy.file(`e.${format}`, exported.stdout)
      const imported = await copy.cli(
        'devices',
        'import',
        input,
        '--secrets-out',
        copy.file('s.csv'),
        '--json',
      )
      expect(report(imported)).toMatchObject({ created: 3, invalid: 0 })
      expect((await copy.cli('devices', 'export', '--format', format)).stdout).toBe(exported.stdout)
      // Everything but the times, which are the copy's own.
      const withoutTimes = (devices: Device[]) =>
        devices.map(({ id, appId, name, tags, enabled, revokedAt, acl }) => ({
          id,
          appId,
          name,
          tags,
          enabled,
          revokedAt,
          acl,
        }))
      expect(withoutTimes(copy.store().devices.list())).toEqual(
        withoutTimes(source.store().devices.list()),
      )
    }
  })

  it('writes CSV with the documented columns, filters by app and tag, never a secret', async () => {
    const target = fleet()
    const secretsOut = target.file('s.csv')
    await target.cli('devices', 'import', target.file('d.csv', rich), '--secrets-out', secretsOut)
    const all = await target.cli('devices', 'export')
    expect(all.stdout).toBe(
      [
        HEADER,
        'a-1,app-1,"North, ""A""",site=lab;floor=2,devices/a-1/#;alerts/#,[],false',
        "a-2,app-1,Robert'); DROP TABLE devices;--,,,,true",
        'b-1,app-2,,"{""note"":""x;y""}",b/#,"[""b;c""]",true',
        '',
      ].join('\n'),
    )
    const lab = await target.cli(
      'devices',
      'export',
      '--app',
      'app-1',
      '--tag',
      'site=lab',
      '--format',
      'json',
    )
    expect(JSON.parse(lab.stdout)).toEqual([
      {
        id: 'a-1',
        app: 'app-1',
        name: 'North, "A"',
        tags: { site: 'lab', floor: '2' },
        acl_publish: ['devices/a-1/#', 'alerts/#'],
        acl_subscribe: [],
        enabled: false,
      },
    ])
    const out = target.file('out.json')
    expect(await target.cli('devices', 'export', '--out', out)).toMatchObject({
      code: 0,
      stdout: '',
    })
    expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveLength(3)
    for (const secret of secretsIn(secretsOut).values()) {
      expect(all.stdout + readFileSync(out, 'utf8')).not.toContain(secret)
    }
    expect(all.stdout).not.toMatch(/sha256\$|scrypt\$/)
    expect((await fleet().cli('devices', 'export', '--format', 'json')).stdout).toBe('[]\n')
    expect((await target.cli('devices', 'export', '--format', 'xml')).code).toBe(2)
  })
})

describe('fleetcast --url devices import/export (admin API)', () => {
  async function remoteFleet(scope: string | null) {
    const gateway = await startTestGateway({ apps: [testApp, otherApp] })
    const { bearer } = gateway.gateway.store.tokens.create({ kind: 'admin', appId: scope })
    const url = `http://127.0.0.1:${gateway.addresses.http.port}`
    const local = fleetOn(tempDir(), gateway.storePath, [testApp, otherApp])
    return {
      gateway,
      local,
      url,
      bearer,
      remote: (...args: string[]) => run(['--url', url, '--token', bearer, ...args]),
    }
  }

  it('prints the same report as a local import, writes the secrets file, and exports the same bytes', async () => {
    const { gateway, local, remote } = await remoteFleet(null)
    const content = `${HEADER}\nr-1,app-1,One,site=lab,,,true\nr-2,app-2,,,,,true\nbad!,app-1,,,,,\n`
    const secretsOut = local.file('remote-secrets.csv')
    const viaApi = await remote(
      'devices',
      'import',
      local.file('d.csv', content),
      '--secrets-out',
      secretsOut,
      '--json',
    )
    expect(viaApi.code).toBe(2)

    const reference = fleet()
    const onFile = await reference.cli(
      'devices',
      'import',
      reference.file('d.csv', content),
      '--secrets-out',
      reference.file('s.csv'),
      '--json',
    )
    expect(viaApi.stdout).toBe(onFile.stdout)
    expect(viaApi.stderr).toBe(onFile.stderr)

    expect(statSync(secretsOut).mode & 0o777).toBe(0o600)
    const secrets = secretsIn(secretsOut)
    const device = await connectAs(gateway, 'r-1', secrets.get('r-1') ?? '')
    expect(device.connected).toBe(true)
    expect(gateway.gateway.store.audit.query({ action: 'device.import' })[0]).toMatchObject({
      actor: expect.stringMatching(/^token:/),
      result: 'ok',
    })

    const disable = local.file('off.csv', 'id,enabled\nr-1,false\n')
    const wentAway = closed(device)
    expect(report(await remote('devices', 'import', disable, '--json'))).toMatchObject({
      updated: 1,
    })
    await wentAway

    for (const format of ['csv', 'json']) {
      const remoteExport = await remote(
        'devices',
        'export',
        '--format',
        format,
        '--tag',
        'site=lab',
      )
      expect(remoteExport.stdout).toBe(
        (await local.cli('devices', 'export', '--format', format, '--tag', 'site=lab')).stdout,
      )
    }
  })

  it('an app-scoped token imports and exports its app only', async () => {
    const { local, remote } = await remoteFleet(testApp.id)
    const input = local.file('d.csv', 'id,app\nmine-1,app-1\ntheirs-1,app-2\nmine-2,\n')
    const result = await remote(
      'devices',
      'import',
      input,
      '--secrets-out',
      local.file('s.csv'),
      '--json',
    )
    expect(report(result)).toMatchObject({ created: 2, invalid: 1 })
    expect(report(result).problems).toEqual([
      { line: 3, id: 'theirs-1', field: 'app', reason: `"app-2" is outside this token's app` },
    ])
    expect(await remote('devices', 'import', input, '--app', 'app-2')).toMatchObject({
      code: 6,
      stderr: 'fleetcast: This token may not import into app "app-2"\n',
    })
    expect((await remote('devices', 'export', '--app', 'app-2')).code).toBe(6)
    expect((await remote('devices', 'export')).stdout.trimEnd().split('\n')).toEqual([
      HEADER,
      'mine-1,app-1,,,,,true',
      'mine-2,app-1,,,,,true',
    ])
  })

  it('refuses bad query parameters and missing tokens over HTTP', async () => {
    const { url, bearer } = await remoteFleet(null)
    const post = (
      query: string,
      headers: Record<string, string> = { authorization: `Bearer ${bearer}` },
    ) => fetch(`${url}/admin/v1/devices/import${query}`, { method: 'POST', headers, body: 'id\n' })
    const wrongFormat = await post('?format=xml')
    expect(wrongFormat.status).toBe(400)
    expect(await wrongFormat.json()).toMatchObject({
      code: 'FC_ERR_REQUEST_INVALID',
      error: expect.stringContaining('format'),
    })
    expect((await post('?colour=red')).status).toBe(400)
    expect((await post('?dryRun=maybe')).status).toBe(400)
    expect((await post('', {})).status).toBe(401)
    const malformed = await fetch(`${url}/admin/v1/devices/import?format=json`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}` },
      body: '{"id":"x"}',
    })
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toEqual({
      code: 'FC_ERR_IMPORT_FORMAT',
      error: 'The file must hold a JSON array of device objects, not object',
    })
    const exported = await fetch(`${url}/admin/v1/devices/export?format=json`, {
      headers: { authorization: `Bearer ${bearer}` },
    })
    expect(exported.headers.get('content-type')).toBe('application/json')
    expect(await exported.json()).toEqual([])
  })
})

describe('fleetcast devices import - (standard input)', () => {
  it('reads the file from standard input when it is -', async () => {
    const target = fleet()
    const config = configFile(
      `store:\n  path: ${target.storePath}\napps:\n  - id: ${testApp.id}\n    key: ${testApp.key}\n    secret: ${testApp.secret}\n`,
    )
    const cli = spawnCli([
      '--config',
      config,
      'devices',
      'import',
      '-',
      '--format',
      'json',
      '--secrets-out',
      target.file('s.csv'),
      '--json',
    ])
    cli.child.stdin?.end('[{"id":"piped-1","tags":{"via":"stdin"}}]')
    expect(await cli.exited).toBe(0)
    expect(JSON.parse(cli.stdout())).toMatchObject({ format: 'json', created: 1 })
    expect(target.store().devices.find('piped-1')?.tags).toEqual({ via: 'stdin' })
  })
})
