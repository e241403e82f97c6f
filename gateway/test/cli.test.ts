import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { spawnCli } from '../../test/support/spawn-cli.js'
import { tempDir, testApp } from '../../test/support/test-gateway.js'
import { defaultConfig } from '../src/config/load.js'
import { configFile, run, storeConfig } from './cli-harness.js'

describe('fleetcast config', () => {
  it('check accepts a valid file', async () => {
    const result = await run(['--config', storeConfig(), 'config', 'check'])
    expect(result).toEqual({
      code: 0,
      stdout: 'Configuration is valid (1 app(s) configured)\n',
      stderr: '',
    })
  })

  it('check lists every problem and exits 3', async () => {
    const file = configFile('http:\n  port: "x"\n  extra: 1\nlog:\n  level: loud\n')
    const result = await run(['--config', file, 'config', 'check'], { FLEETCAST_NOT_A_KEY: '1' })
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('Invalid configuration (4 problems)')
    for (const fragment of [
      'FLEETCAST_NOT_A_KEY: unknown variable',
      'http.port:',
      'http.extra: unknown key',
      'log.level:',
    ]) {
      expect(result.stderr).toContain(fragment)
    }
  })

  it('check reports invalid YAML and a missing file with exit 3', async () => {
    expect((await run(['--config', configFile('a: [1\n'), 'config', 'check'])).code).toBe(3)
    const missing = await run(['--config', '/nonexistent.yaml', 'config', 'check'])
    expect(missing).toMatchObject({
      code: 3,
      stderr: 'fleetcast: Cannot read config file /nonexistent.yaml: ENOENT\n',
    })
  })

  it('print-defaults prints YAML or JSON equal to the built-in defaults', async () => {
    const yaml = await run(['config', 'print-defaults'])
    expect(parse(yaml.stdout)).toEqual(defaultConfig())
    const json = await run(['config', 'print-defaults', '--json'])
    expect(JSON.parse(json.stdout)).toEqual(defaultConfig())
  })
})

describe('fleetcast devices add', () => {
  it('prints id, appId and secret as JSON and refuses the same id twice', async () => {
    const file = storeConfig()
    const added = await run([
      '--config',
      file,
      'devices',
      'add',
      'pi-1',
      '--tag',
      'site=lab',
      '--json',
    ])
    expect(added.code).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({
      id: 'pi-1',
      appId: testApp.id,
      tags: { site: 'lab' },
    })
    expect(JSON.parse(added.stdout).secret).toMatch(/^[\w-]{43}$/)

    const again = await run(['--config', file, 'devices', 'add', 'pi-1'])
    expect(again).toEqual({
      code: 5,
      stdout: '',
      stderr: 'fleetcast: Device "pi-1" already exists\n',
    })
  })

  it('prints the secret once in human form', async () => {
    const result = await run(['--config', storeConfig(), 'devices', 'add', 'pi-2'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/MQTT password \(secret\): +[\w-]{43}\n/)
  })

  it('names the bad field: id, app, tag', async () => {
    const file = storeConfig()
    const badId = await run(['--config', file, 'devices', 'add', 'a/b'])
    expect(badId.code).toBe(2)
    expect(badId.stderr).toContain('Device id "a/b" is invalid')
    const badApp = await run(['--config', file, 'devices', 'add', 'pi-3', '--app', 'nope'])
    expect(badApp).toMatchObject({ code: 4, stderr: 'fleetcast: App "nope" does not exist\n' })
    const badTag = await run(['--config', file, 'devices', 'add', 'pi-3', '--tag', 'novalue'])
    expect(badTag.code).toBe(2)
    expect(badTag.stderr).toContain("option '--tag <key=value>' argument 'novalue' is invalid")
  })

  it('exits 2 on an unknown command or a missing argument', async () => {
    expect((await run(['frobnicate'])).code).toBe(2)
    const missing = await run(['devices', 'add'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("missing required argument 'id'")
  })
})

describe('the fleetcast bin', () => {
  it('exits 3 with every problem when the environment holds an unknown FLEETCAST_ variable', async () => {
    const cli = spawnCli(['config', 'check'], { FLEETCAST_MQTT__PROT: '1884' })
    expect(await cli.exited).toBe(3)
    expect(cli.stderr()).toContain('FLEETCAST_MQTT__PROT: unknown variable')
  })

  it('fails fast when the MQTT port is taken, naming the port and the setting', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const address = blocker.address()
    const port = typeof address === 'object' && address ? address.port : 0
    try {
      const cli = spawnCli(['start'], {
        FLEETCAST_MQTT__HOST: '127.0.0.1',
        FLEETCAST_MQTT__PORT: String(port),
        FLEETCAST_HTTP__PORT: '0',
        FLEETCAST_STORE__PATH: join(tempDir(), 'f.db'),
      })
      expect(await cli.exited).toBe(1)
      expect(cli.stderr()).toContain(
        `Port ${port} on 127.0.0.1 is already in use; set mqtt.port (or FLEETCAST_MQTT__PORT) to a free port`,
      )
    } finally {
      blocker.close()
    }
  })

  it('stops gracefully on SIGTERM', async () => {
    const cli = spawnCli(['start'], {
      FLEETCAST_HTTP__HOST: '127.0.0.1',
      FLEETCAST_HTTP__PORT: '0',
      FLEETCAST_MQTT__HOST: '127.0.0.1',
      FLEETCAST_MQTT__PORT: '0',
      FLEETCAST_STORE__PATH: join(tempDir(), 'f.db'),
    })
    await cli.stdoutIncludes('fleetcast listening')
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    expect(cli.stdout()).toContain('"signal":"SIGTERM"')
    expect(cli.stdout()).toContain('fleetcast stopped')
  })
})
