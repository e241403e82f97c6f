import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { captureIo } from '../../test/support/cli-io.js'
import { tempDir, testApp } from '../../test/support/test-gateway.js'
import { buildProgram } from '../src/cli/main.js'
import type { Device } from '../src/domain/device.js'
import type { AppView, AppWithSecret, TokenWithBearer } from '../src/fleet/fleet-operations.js'
import type { AuditEntry } from '../src/store/audit-log.js'
import type { Claim } from '../src/store/claim-repository.js'
import type { Token } from '../src/store/token-repository.js'
import { configFile, run, storeConfig } from './cli-harness.js'

/** SQL that would do damage if any value were spliced into a statement. */
const SQL = `x'; DROP TABLE devices; --`

/** A fresh store behind a config with `testApp`; `fleet(...)` runs a command against it. */
function fleetStore() {
  const config = storeConfig()
  const fleet = (...args: string[]) => run(['--config', config, ...args])
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await fleet(...args, '--json')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout) as T
  }
  return { config, fleet, json }
}

/** The expiry is `ttl` after creation, give or take the milliseconds between two clock reads. */
function expectExpiry(record: { createdAt: number; expiresAt: number | null }, ttlSeconds: number) {
  const lag = (record.expiresAt ?? 0) - (record.createdAt + ttlSeconds * 1000)
  expect(Math.abs(lag)).toBeLessThan(1000)
}

describe('fleetcast apps', () => {
  it('creates an app, shows it without its secret, and lists it in a table', async () => {
    const { fleet, json } = fleetStore()
    const created = await json<AppWithSecret>('apps', 'create', 'dash', '--client-events')
    expect(created).toEqual({
      id: 'dash',
      key: expect.stringMatching(/^[0-9a-f]{20}$/),
      enabled: true,
      clientEvents: true,
      managedByConfig: false,
      deviceCount: 0,
      secret: expect.stringMatching(/^[\w-]{43}$/),
    })
    const { secret: _secret, ...view } = created
    expect(await json<AppView>('apps', 'show', 'dash')).toEqual(view)

    const list = await fleet('apps', 'list')
    expect(list.stdout).toBe(
      [
        'ID     KEY                   ENABLED  CLIENT EVENTS  CONFIG   DEVICES',
        `app-1  app-key-1             yes      no             managed  0`,
        `dash   ${created.key}  yes      yes            -        0`,
        '',
      ].join('\n'),
    )
    const shown = await fleet('apps', 'show', 'dash')
    expect(shown.stdout).toContain('managed by config: no\n')
    expect(shown.stdout).not.toContain(created.secret)
  })

  it('rotates the secret and disables an app it created, not one the config defines', async () => {
    const { fleet, json } = fleetStore()
    const created = await json<AppWithSecret>('apps', 'create', 'dash')
    const rotated = await json<AppWithSecret>('apps', 'rotate-secret', 'dash')
    expect(rotated.secret).not.toBe(created.secret)
    expect(await json<AppView>('apps', 'disable', 'dash')).toMatchObject({ enabled: false })
    expect((await fleet('apps', 'enable', 'dash')).stdout).toBe('App dash is enabled.\n')

    const managed = await fleet('apps', 'disable', testApp.id)
    expect(managed.code).toBe(5)
    expect(managed.stderr).toContain(`App "${testApp.id}" is defined under apps[] in the config`)
  })

  it('generates an id when none is given', async () => {
    const { json } = fleetStore()
    const created = await json<AppWithSecret>('apps', 'create')
    expect(created.id).toMatch(/^app-[0-9a-f]{8}$/)
  })

  it('exits 5 for an existing id, 2 for a malformed one, 4 for an unknown one', async () => {
    const { fleet, json } = fleetStore()
    await json('apps', 'create', 'dash')
    expect(await fleet('apps', 'create', 'dash')).toMatchObject({
      code: 5,
      stderr: 'fleetcast: App "dash" already exists\n',
    })
    const malformed = await fleet('apps', 'create', SQL)
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toContain(`App id "${SQL}" is invalid`)
    expect(await fleet('apps', 'show', SQL)).toMatchObject({
      code: 4,
      stderr: `fleetcast: App "${SQL}" does not exist\n`,
    })
    expect((await json<AppView[]>('apps', 'list')).map((app) => app.id)).toEqual([
      testApp.id,
      'dash',
    ])
  })
})

describe('fleetcast devices', () => {
  /** Three devices over two apps: pi-1 (lab, floor 1), pi-2 (lab, floor 2), pi-3 in app `other`. */
  async function fleetOfThree() {
    const store = fleetStore()
    await store.json('apps', 'create', 'other')
    await store.json(
      'devices',
      'add',
      'pi-1',
      '--app',
      testApp.id,
      '--tag',
      'site=lab',
      '--tag',
      'floor=1',
    )
    await store.json(
      'devices',
      'add',
      'pi-2',
      '--app',
      testApp.id,
      '--tag',
      'site=lab',
      '--tag',
      'floor=2',
      '--name',
      'Lab two',
    )
    await store.json('devices', 'add', 'pi-3', '--app', 'other', '--tag', 'site=home')
    const ids = async (...filters: string[]) =>
      (await store.json<Device[]>('devices', 'list', ...filters)).map((device) => device.id)
    return { ...store, ids }
  }

  it('lists devices in an aligned table and filters by app, tags, state and page', async () => {
    const { fleet, ids } = await fleetOfThree()
    expect((await fleet('devices', 'list')).stdout).toBe(
      [
        'ID    APP    NAME     TAGS              STATE    ONLINE SINCE  LAST SEEN',
        'pi-1  app-1  -        site=lab,floor=1  enabled  -             -',
        'pi-2  app-1  Lab two  site=lab,floor=2  enabled  -             -',
        'pi-3  other  -        site=home         enabled  -             -',
        '',
      ].join('\n'),
    )
    expect(await ids('--app', 'other')).toEqual(['pi-3'])
    expect(await ids('--tag', 'site=lab')).toEqual(['pi-1', 'pi-2'])
    expect(await ids('--tag', 'site=lab', '--tag', 'floor=2')).toEqual(['pi-2'])
    expect(await ids('--offline')).toEqual(['pi-1', 'pi-2', 'pi-3'])
    expect(await ids('--online')).toEqual([])
    expect(await ids('--limit', '2')).toEqual(['pi-1', 'pi-2'])
    expect(await ids('--limit', '2', '--after', 'pi-2')).toEqual(['pi-3'])
    expect((await fleet('devices', 'list', '--online')).stdout).toBe('No devices.\n')
  })

  it('shows one device, and its state after disable, revoke, rotate and kick', async () => {
    const { fleet, json } = await fleetOfThree()
    const shown = await fleet('devices', 'show', 'pi-2')
    expect(shown.stdout).toMatch(
      /^id: +pi-2\napp: +app-1\nname: +Lab two\ntags: +site=lab,floor=2\n/,
    )
    expect(shown.stdout).toContain('acl publish:   default (devices/<id>/#)\n')

    expect(await json<Device>('devices', 'disable', 'pi-2')).toMatchObject({ enabled: false })
    expect((await fleet('devices', 'show', 'pi-2')).stdout).toMatch(/^state: +disabled$/m)
    expect(await json<Device>('devices', 'enable', 'pi-2')).toMatchObject({ enabled: true })
    const revoked = await json<Device>('devices', 'revoke', 'pi-2')
    expect(revoked.revokedAt).toEqual(expect.any(Number))
    expect((await fleet('devices', 'list', '--tag', 'floor=2')).stdout).toContain(
      'site=lab,floor=2  revoked',
    )
    const rotated = await json<Device & { secret: string }>('devices', 'rotate', 'pi-2')
    expect(rotated).toMatchObject({ id: 'pi-2', revokedAt: null })
    expect(rotated.secret).toMatch(/^[\w-]{43}$/)

    const before = await json<Device>('devices', 'show', 'pi-2')
    const kicked = await json<Device>('devices', 'kick', 'pi-2')
    expect(kicked.updatedAt).toBeGreaterThanOrEqual(before.updatedAt)
    expect((await fleet('devices', 'kick', 'pi-2')).stdout).toBe(
      'Device pi-2 is kicked. A running gateway closes its connection within a second. It may log in again.\n',
    )
  })

  it('exits 4 for an unknown device in every command that names one', async () => {
    const { fleet } = fleetStore()
    for (const command of ['show', 'rotate', 'revoke', 'enable', 'disable', 'kick']) {
      expect(await fleet('devices', command, 'nope')).toEqual({
        code: 4,
        stdout: '',
        stderr: 'fleetcast: Device "nope" does not exist\n',
      })
    }
  })

  it('refuses malformed filters and options with exit 2, naming the option', async () => {
    const { fleet } = fleetStore()
    const cases: Array<[string[], string]> = [
      [
        ['devices', 'list', '--tag', 'novalue'],
        "option '--tag <key=value>' argument 'novalue' is invalid. expected key=value",
      ],
      [['devices', 'list', '--tag', '=lab'], "argument '=lab' is invalid. expected key=value"],
      [
        ['devices', 'list', '--limit', '0'],
        "option '--limit <n>' argument '0' is invalid. expected a whole number ≥ 1",
      ],
      [['devices', 'list', '--limit', 'ten'], "argument 'ten' is invalid"],
      [
        ['devices', 'list', '--online', '--offline'],
        "option '--online' cannot be used with option '--offline'",
      ],
      [['devices', 'list', '--colour'], "unknown option '--colour'"],
      [
        ['devices', 'rotate', 'pi-1', '--overlap', 'soon'],
        'expected a duration like 90s, 15m, 2h or 7d',
      ],
      [['devices', 'show'], "missing required argument 'id'"],
    ]
    for (const [args, message] of cases) {
      const result = await fleet(...args)
      expect({ args, code: result.code }).toEqual({ args, code: 2 })
      expect(result.stderr).toContain(message)
    }
  })

  it('keeps SQL metacharacters as data in ids, names, tags and filters', async () => {
    const { fleet, json, ids } = await fleetOfThree()
    const badId = await fleet('devices', 'add', SQL)
    expect(badId.code).toBe(2)
    expect(badId.stderr).toContain(`Device id "${SQL}" is invalid`)

    const added = await json<Device>(
      'devices',
      'add',
      'pi-4',
      '--app',
      testApp.id,
      '--name',
      SQL,
      '--tag',
      `note=${SQL}`,
    )
    expect(added).toMatchObject({ name: SQL, tags: { note: SQL } })
    expect(await ids('--tag', `note=${SQL}`)).toEqual(['pi-4'])
    expect(await ids('--tag', `site=' OR '1'='1`)).toEqual([])
    expect(await ids('--app', `' OR 1=1 --`)).toEqual([])
    expect(await ids('--after', `' OR 1=1 --`)).toEqual(['pi-1', 'pi-2', 'pi-3', 'pi-4'])
    expect((await fleet('devices', 'show', 'pi-4')).stdout).toContain(`name:          ${SQL}\n`)
  })

  it('names the app when it is unknown or ambiguous', async () => {
    const { fleet, json } = fleetStore()
    expect(await fleet('devices', 'add', 'pi-1', '--app', 'nope')).toMatchObject({
      code: 4,
      stderr: 'fleetcast: App "nope" does not exist\n',
    })
    await json('apps', 'create', 'other')
    const ambiguous = await fleet('devices', 'add', 'pi-1')
    expect(ambiguous.code).toBe(2)
    expect(ambiguous.stderr).toContain('Several apps exist (app-1, other); pass --app <appId>')
  })
})

describe('fleetcast tokens', () => {
  it('creates a viewer token with grants and a ttl, lists it, and revokes it', async () => {
    const { fleet, json } = fleetStore()
    const token = await json<TokenWithBearer>(
      'tokens',
      'create',
      '--app',
      testApp.id,
      '--grant',
      'private-device-*',
      '--grant',
      'tag:site=lab',
      '--user',
      'alice',
      '--label',
      'wall screen',
      '--ttl',
      '2h',
    )
    expect(token).toMatchObject({
      id: expect.stringMatching(/^tok_[0-9a-f]{16}$/),
      kind: 'viewer',
      appId: testApp.id,
      grants: ['private-device-*', 'tag:site=lab'],
      userId: 'alice',
      label: 'wall screen',
      revokedAt: null,
      token: expect.stringMatching(/^fcv_[\w-]{43}$/),
    })
    expectExpiry(token, 2 * 3600)

    const listed = await json<Token[]>('tokens', 'list', '--kind', 'viewer')
    const { token: _bearer, ...record } = token
    expect(listed).toEqual([record])
    expect(JSON.stringify(listed)).not.toContain(token.token)

    const revoked = await json<Token>('tokens', 'revoke', token.id)
    expect(revoked.revokedAt).toEqual(expect.any(Number))
    const table = (await fleet('tokens', 'list')).stdout.split('\n')
    expect(table[0]).toMatch(/^ID +KIND +APP +GRANTS +USER +LABEL +STATE +EXPIRES +LAST USED$/)
    expect(table[1]).toMatch(
      new RegExp(
        `^${token.id} +viewer +app-1 +private-device-\\*,tag:site=lab +alice +wall screen +revoked +\\d{4}-`,
      ),
    )
  })

  it('creates admin tokens for every app or one, and prints the bearer once in human form', async () => {
    const { fleet, json } = fleetStore()
    const all = await json<TokenWithBearer>('tokens', 'create', '--admin')
    expect(all).toMatchObject({
      kind: 'admin',
      appId: null,
      grants: [],
      token: expect.stringMatching(/^fca_/),
    })
    const one = await json<TokenWithBearer>('tokens', 'create', '--admin', '--app', testApp.id)
    expect(one).toMatchObject({ kind: 'admin', appId: testApp.id })
    const human = await fleet('tokens', 'create', '--admin', '--label', 'ops')
    expect(human.stdout).toMatch(
      /^Token tok_[0-9a-f]{16} created\. The token is shown only now:\n {2}fca_[\w-]{43}\n/,
    )
    expect(human.stdout).toMatch(/^app: +\* \(every app\)$/m)
    const admins = await json<Token[]>('tokens', 'list', '--kind', 'admin', '--app', testApp.id)
    expect(admins.map((token) => token.id)).toEqual([one.id])
  })

  it('refuses bad token requests with exit 2 and an unknown id with exit 4', async () => {
    const { fleet } = fleetStore()
    const cases: Array<[string[], string]> = [
      [['tokens', 'create', '--app', testApp.id], 'a viewer token needs at least one grant'],
      [
        ['tokens', 'create', '--admin', '--grant', 'private-*'],
        "option '--admin' cannot be used with option '--grant <pattern>'",
      ],
      [['tokens', 'create', '--app', testApp.id, '--grant', SQL], `grants[0]: "${SQL}" is neither`],
      [
        ['tokens', 'create', '--app', testApp.id, '--grant', 'x', '--ttl', 'soon'],
        "option '--ttl <duration>' argument 'soon' is invalid",
      ],
      [
        ['tokens', 'create', '--app', testApp.id, '--grant', 'x', '--ttl', '0s'],
        'expected a duration longer than 0s',
      ],
      [['tokens', 'create', '--app', testApp.id, '--grant', ''], 'expected a non-empty value'],
      [
        ['tokens', 'list', '--kind', 'root'],
        "argument 'root' is invalid. Allowed choices are admin, viewer",
      ],
    ]
    for (const [args, message] of cases) {
      const result = await fleet(...args)
      expect({ args, code: result.code }).toEqual({ args, code: 2 })
      expect(result.stderr).toContain(message)
    }
    expect(await fleet('tokens', 'create', '--app', 'nope', '--grant', 'x')).toMatchObject({
      code: 4,
      stderr: 'fleetcast: App "nope" does not exist\n',
    })
    expect(await fleet('tokens', 'revoke', 'tok_0000')).toMatchObject({
      code: 4,
      stderr: 'fleetcast: Token "tok_0000" does not exist\n',
    })
  })

  it('keeps SQL metacharacters in labels and user ids as data', async () => {
    const { json } = fleetStore()
    const token = await json<TokenWithBearer>(
      'tokens',
      'create',
      '--app',
      testApp.id,
      '--grant',
      'private-*',
      '--label',
      SQL,
      '--user',
      SQL,
    )
    expect(token).toMatchObject({ label: SQL, userId: SQL })
    expect(await json<Token[]>('tokens', 'list', '--app', SQL)).toEqual([])
    expect((await json<Token[]>('tokens', 'list')).map((t) => t.label)).toEqual([SQL])
  })
})

describe('fleetcast claims', () => {
  it('creates a claim with uses, ttl and tags, lists it, and revokes it', async () => {
    const { fleet, json } = fleetStore()
    const claim = await json<Claim & { claim: string }>(
      'claims',
      'create',
      '--uses',
      '3',
      '--ttl',
      '7d',
      '--tag',
      'site=lab',
      '--label',
      SQL,
    )
    expect(claim).toMatchObject({
      id: expect.stringMatching(/^clm_[0-9a-f]{16}$/),
      appId: testApp.id,
      tags: { site: 'lab' },
      label: SQL,
      usesLeft: 3,
      revokedAt: null,
      claim: expect.stringMatching(/^fcc_[\w-]{43}$/),
    })
    expectExpiry(claim, 7 * 86_400)
    const { claim: _secret, ...record } = claim
    expect(await json<Claim[]>('claims', 'list', '--app', testApp.id)).toEqual([record])

    await json('claims', 'revoke', claim.id)
    const table = (await fleet('claims', 'list')).stdout.split('\n')
    expect(table[0]).toMatch(/^ID +APP +USES LEFT +TAGS +LABEL +STATE +EXPIRES$/)
    expect(table[1]).toMatch(
      new RegExp(`^${claim.id} +app-1 +3 +site=lab +x'; DROP TABLE devices;… +revoked +`),
    )
  })

  it('needs --uses as a whole number ≥ 1 and names a bad tag', async () => {
    const { fleet } = fleetStore()
    for (const [args, message] of [
      [[], "required option '--uses <n>' not specified"],
      [['--uses', '0'], 'expected a whole number ≥ 1'],
      [['--uses', '2.5'], 'expected a whole number ≥ 1'],
      [['--uses', '1', '--tag', 'site'], 'expected key=value'],
      [['--uses', '1', '--tag', `${SQL}=x`], 'tag key'],
    ] as Array<[string[], string]>) {
      const result = await fleet('claims', 'create', ...args)
      expect({ args, code: result.code }).toEqual({ args, code: 2 })
      expect(result.stderr).toContain(message)
    }
    expect((await fleet('claims', 'revoke', 'clm_0')).code).toBe(4)
  })
})

describe('fleetcast audit', () => {
  it('lists admin actions newest first, refusals included, and filters them', async () => {
    const { fleet, json } = fleetStore()
    await json('devices', 'add', 'pi-1')
    await json('devices', 'disable', 'pi-1')
    expect((await fleet('devices', 'add', 'pi-1')).code).toBe(5)
    await json('tokens', 'create', '--admin')

    const entries = await json<AuditEntry[]>('audit')
    expect(entries.map((e) => [e.actor, e.action, e.target ?? e.appId, e.result])).toEqual([
      ['cli', 'token.create', expect.stringMatching(/^tok_/), 'ok'],
      ['cli', 'device.add', 'pi-1', 'FC_ERR_DEVICE_EXISTS'],
      ['cli', 'device.disable', 'pi-1', 'ok'],
      ['cli', 'device.add', 'pi-1', 'ok'],
    ])
    const actions = async (...filters: string[]) =>
      (await json<AuditEntry[]>('audit', ...filters)).map((e) => e.action)
    expect(await actions('--action', 'device.', '--result', 'ok')).toEqual([
      'device.disable',
      'device.add',
    ])
    expect(await actions('--target', 'pi-1', '--limit', '1')).toEqual(['device.add'])
    expect(await actions('--actor', 'token:tok_x')).toEqual([])
    expect(await actions('--since', '1h')).toHaveLength(4)
    expect(await actions('--until', '1h')).toEqual([])
    expect(await actions('--since', '2999-01-01')).toEqual([])
    expect(await actions('--until', '2999-01-01T00:00:00Z', '--app', testApp.id)).toEqual([
      'device.disable',
      'device.add',
    ])
    expect(await actions('--target', SQL)).toEqual([])

    const table = (await fleet('audit', '--action', 'device.disable')).stdout.split('\n')
    expect(table[0]).toMatch(/^AT +ACTOR +ACTION +APP +TARGET +RESULT +DETAIL$/)
    expect(table[1]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +cli +device\.disable +app-1 +pi-1 +ok +-$/,
    )
  })

  it('refuses a malformed time or limit with exit 2', async () => {
    const { fleet } = fleetStore()
    for (const args of [
      ['--since', 'yesterday'],
      ['--until', '2024-13-45'],
      ['--limit', '-1'],
    ]) {
      const result = await fleet('audit', ...args)
      expect({ args, code: result.code }).toEqual({ args, code: 2 })
    }
    expect((await fleet('audit', '--since', 'yesterday')).stderr).toContain(
      'expected a duration back from now (30m, 1h, 7d) or an ISO time',
    )
  })
})

describe('exit statuses in local mode', () => {
  it('exits 3 for a bad config and 1 when the store cannot be opened', async () => {
    const badConfig = await run(['--config', configFile('store: [1\n'), 'devices', 'list'])
    expect(badConfig.code).toBe(3)
    const dir = tempDir()
    const unopenable = await run(['devices', 'list'], { FLEETCAST_STORE__PATH: dir })
    expect(unopenable.code).toBe(1)
    expect(unopenable.stderr).toContain(`Cannot open the store at ${dir} (store.path)`)
  })
})

describe('fleetcast --help', () => {
  function commandPaths(command: Command, path: string[] = []): string[][] {
    return command.commands.flatMap((child) => {
      const childPath = [...path, child.name()]
      return [childPath, ...commandPaths(child, childPath)]
    })
  }

  it('shows examples for every command', async () => {
    const paths = commandPaths(buildProgram(captureIo().io))
    expect(paths.length).toBeGreaterThan(25)
    const withoutExamples: string[] = []
    for (const path of [[], ...paths]) {
      const result = await run([...path, '--help'])
      expect(result.code).toBe(0)
      if (!result.stdout.includes('\nExamples:\n  fleetcast ')) withoutExamples.push(path.join(' '))
    }
    expect(withoutExamples).toEqual([])
  })
})
