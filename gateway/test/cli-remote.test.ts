import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closed, connectAs } from '../../test/support/device.js'
import { createPusherClient, nextEvent, subscribed } from '../../test/support/pusher.js'
import { testBackend } from '../../test/support/pusher-server.js'
import { spawnCli } from '../../test/support/spawn-cli.js'
import { startTestGateway, type TestGateway, testApp } from '../../test/support/test-gateway.js'
import type { Device } from '../src/domain/device.js'
import type { TokenWithBearer } from '../src/fleet/fleet-operations.js'
import { type CliResult, configFile, run } from './cli-harness.js'

/**
 * A running gateway and two ways to reach its registry: `local` on its store file (the config
 * holds the same apps as the gateway's), `remote` through its admin API with an admin token made
 * by `fleetcast tokens create --admin` on the store file.
 */
async function gatewayWithAdminToken(scope: string[] = []) {
  const target = await startTestGateway()
  const config = configFile(
    `store:\n  path: ${target.storePath}\napps:\n  - id: ${testApp.id}\n    key: ${testApp.key}\n    secret: ${testApp.secret}\n`,
  )
  const url = `http://127.0.0.1:${target.addresses.http.port}`
  const made = spawnCli(['--config', config, 'tokens', 'create', '--admin', ...scope, '--json'])
  expect(await made.exited).toBe(0)
  const { token } = JSON.parse(made.stdout()) as TokenWithBearer
  return {
    target,
    url,
    token,
    /** The spawned bin, on the store file. */
    spawnLocal: (...args: string[]) => spawnCli(['--config', config, ...args]),
    /** The spawned bin, through the admin API (token from the environment). */
    spawnRemote: (...args: string[]) =>
      spawnCli(['--url', url, ...args], { FLEETCAST_ADMIN_TOKEN: token }),
    local: (...args: string[]) => run(['--config', config, ...args]),
    remote: (...args: string[]) => run(['--url', url, '--token', token, ...args]),
  }
}

async function output(cli: ReturnType<typeof spawnCli>): Promise<CliResult> {
  const code = await cli.exited
  return { code: code ?? -1, stdout: cli.stdout(), stderr: cli.stderr() }
}

/** Resolves when the gateway has recorded `deviceId` as connected (presence member added). */
async function presenceWatcher(target: TestGateway) {
  const client = createPusherClient(target.addresses.http.port, testApp, (params, callback) =>
    callback(
      null,
      testBackend.authorizeChannel(params.socketId, params.channelName, { user_id: 'ops' }),
    ),
  )
  await subscribed(client, 'presence-devices')
  return () => nextEvent(client, 'presence-devices', 'pusher:member_added')
}

describe('fleetcast --url (admin API) against the store file', () => {
  // Spawns nine CLI processes; a loaded machine needs more than the default 20 s.
  it('prints the same --json bytes and the same tables in both modes', async () => {
    const fleet = await gatewayWithAdminToken()
    const added = await output(
      fleet.spawnRemote('devices', 'add', 'pi-1', '--tag', 'site=lab', '--json'),
    )
    expect(added.code).toBe(0)
    const { secret } = JSON.parse(added.stdout) as Device & { secret: string }
    expect(
      (await output(fleet.spawnLocal('devices', 'add', 'pi-2', '--tag', 'site=home'))).code,
    ).toBe(0)
    expect((await fleet.local('claims', 'create', '--uses', '2', '--tag', 'site=lab')).code).toBe(0)

    const memberAdded = (await presenceWatcher(fleet.target))()
    await connectAs(fleet.target, 'pi-1', secret)
    await memberAdded

    const spawnedReads = [
      ['devices', 'list', '--online', '--json'],
      ['tokens', 'list', '--json'],
      ['devices', 'list'],
    ]
    for (const args of spawnedReads) {
      // Remote first: its token use is recorded (lastUsedAt) before either list is read.
      const remote = await output(fleet.spawnRemote(...args))
      const local = await output(fleet.spawnLocal(...args))
      expect({ args, ...remote }).toEqual({ args, ...local })
      expect(remote.code).toBe(0)
    }
    expect(
      (
        JSON.parse((await fleet.local('devices', 'list', '--online', '--json')).stdout) as Device[]
      ).map((device) => device.id),
    ).toEqual(['pi-1'])

    const inProcessReads = [
      ['devices', 'show', 'pi-1', '--json'],
      ['devices', 'list', '--tag', 'site=lab', '--json'],
      ['devices', 'list', '--offline', '--limit', '1', '--json'],
      ['devices', 'list', '--after', 'pi-1', '--json'],
      ['apps', 'list', '--json'],
      ['apps', 'show', testApp.id],
      ['claims', 'list', '--json'],
      ['tokens', 'list', '--kind', 'viewer', '--json'],
      ['audit', '--action', 'device.', '--json'],
      ['audit', '--since', '1h', '--actor', 'cli'],
    ]
    for (const args of inProcessReads) {
      const remote = await fleet.remote(...args)
      const local = await fleet.local(...args)
      expect({ args, ...remote }).toEqual({ args, ...local })
      expect(remote.code).toBe(0)
    }
  }, 60_000)

  it('answers changes with the same shapes, and records who made them', async () => {
    const fleet = await gatewayWithAdminToken()
    const keys = (result: CliResult) => Object.keys(JSON.parse(result.stdout) as object)
    const changes = [
      ['devices', 'add', 'pi-1', '--json'],
      ['devices', 'rotate', 'pi-1', '--overlap', '1m', '--json'],
      ['devices', 'disable', 'pi-1', '--json'],
      ['tokens', 'create', '--app', testApp.id, '--grant', 'private-device-*', '--json'],
      ['claims', 'create', '--uses', '1', '--json'],
      ['apps', 'create', '--json'],
    ]
    for (const args of changes) {
      const local = await fleet.local(...args.map((a) => a.replace('pi-1', 'pi-local')))
      const remote = await fleet.remote(...args.map((a) => a.replace('pi-1', 'pi-remote')))
      expect({ args, code: remote.code, keys: keys(remote) }).toEqual({
        args,
        code: local.code,
        keys: keys(local),
      })
    }
    const actors = JSON.parse(
      (await fleet.local('audit', '--target', 'pi-remote', '--json')).stdout,
    )
    expect(actors).toEqual(
      Array(3).fill(expect.objectContaining({ actor: expect.stringMatching(/^token:tok_/) })),
    )
  })

  it('kicks a connected device over the admin API', async () => {
    const fleet = await gatewayWithAdminToken()
    const added = await fleet.remote('devices', 'add', 'pi-1', '--json')
    const { secret } = JSON.parse(added.stdout) as { secret: string }
    const client = await connectAs(fleet.target, 'pi-1', secret)
    const gone = closed(client)
    const kicked = await output(fleet.spawnRemote('devices', 'kick', 'pi-1'))
    expect(kicked).toMatchObject({ code: 0, stderr: '' })
    await gone
    // A kick is not a ban: the device logs in again.
    await (await connectAs(fleet.target, 'pi-1', secret)).endAsync()
  })

  it('fails with the same message and exit status in both modes', async () => {
    const fleet = await gatewayWithAdminToken()
    await fleet.local('devices', 'add', 'pi-1')
    const SQL = `x'; DROP TABLE devices; --`
    const cases: Array<[string[], number]> = [
      [['devices', 'show', 'nope'], 4],
      [['tokens', 'revoke', 'tok_0'], 4],
      [['devices', 'add', 'pi-1'], 5],
      [['apps', 'disable', testApp.id], 5],
      [['devices', 'add', SQL], 2],
      [['devices', 'add', 'pi-2', '--tag', `${SQL}=1`], 2],
      [['devices', 'list', '--tag', 'novalue'], 2],
      [['devices', 'rotate', 'pi-1', '--overlap', 'soon'], 2],
      [['tokens', 'create', '--app', testApp.id, '--grant', SQL], 2],
      [['claims', 'create', '--uses', '1', '--app', 'nope'], 4],
    ]
    for (const [args, status] of cases) {
      const remote = await fleet.remote(...args)
      const local = await fleet.local(...args)
      expect({ args, ...remote }).toEqual({ args, ...local })
      expect({ args, code: remote.code }).toEqual({ args, code: status })
    }
    expect((await fleet.local('devices', 'list', '--json')).stdout).toContain('"id": "pi-1"')
  })

  it('exits 6 when the token is unknown, revoked or out of its app scope', async () => {
    const fleet = await gatewayWithAdminToken()
    const unknown = await run(['--url', fleet.url, '--token', 'fca_nope', 'apps', 'list'])
    expect(unknown.code).toBe(6)
    expect(unknown.stderr).toMatch(/^fleetcast: .+\n$/)

    await fleet.local('apps', 'create', 'other')
    await fleet.local('devices', 'add', 'pi-other', '--app', 'other')
    const scoped = await fleet.local('tokens', 'create', '--admin', '--app', testApp.id, '--json')
    const { token, id } = JSON.parse(scoped.stdout) as TokenWithBearer
    const asScoped = (...args: string[]) => run(['--url', fleet.url, '--token', token, ...args])
    expect((await asScoped('devices', 'show', 'pi-other')).code).toBe(6)
    expect((await asScoped('apps', 'create', 'third')).code).toBe(6)
    expect((await asScoped('tokens', 'create', '--admin')).code).toBe(6)
    const visible = JSON.parse((await asScoped('apps', 'list', '--json')).stdout) as {
      id: string
    }[]
    expect(visible.map((app) => app.id)).toEqual([testApp.id])

    expect((await fleet.remote('tokens', 'revoke', id)).code).toBe(0)
    const revoked = await asScoped('apps', 'list')
    expect(revoked.code).toBe(6)
  })

  it('exits 7 when nothing listens at --url, naming the address', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as AddressInfo
    await new Promise((resolve) => probe.close(resolve))
    const cli = spawnCli(['--url', `http://127.0.0.1:${port}`, 'devices', 'list'], {
      FLEETCAST_ADMIN_TOKEN: 'fca_x',
    })
    expect(await cli.exited).toBe(7)
    expect(cli.stderr()).toBe(
      `fleetcast: Cannot reach the gateway at http://127.0.0.1:${port}: ECONNREFUSED. Is it running, and is --url (or FLEETCAST_URL) its HTTP address?\n`,
    )
  })

  it('exits 1 when --url is a web server but not a Fleetcast gateway', async () => {
    const other = createServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>')
    })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => other.close(() => resolve())))
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
    const result = await run(['--url', url, '--token', 'fca_x', 'devices', 'list'])
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `fleetcast: ${url} answered HTTP 404 with an answer without a Fleetcast error code: is --url (or FLEETCAST_URL) the Fleetcast gateway's HTTP address?\n`,
    })
  })

  it('exits 2 for a --url without a token or that is not an http URL', async () => {
    const noToken = await run(['--url', 'http://127.0.0.1:1', 'devices', 'list'])
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toContain(
      '--url needs an admin token: pass --token or set FLEETCAST_ADMIN_TOKEN',
    )
    const notHttp = await run(['devices', 'list'], {
      FLEETCAST_URL: 'mqtt://pi:1883',
      FLEETCAST_ADMIN_TOKEN: 'x',
    })
    expect(notHttp).toMatchObject({
      code: 2,
      stderr: 'fleetcast: --url "mqtt://pi:1883" must start with http:// or https://\n',
    })
    expect((await run(['--url', 'not a url', '--token', 'x', 'apps', 'list'])).code).toBe(2)
  })
})
