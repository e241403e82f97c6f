import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../errors/gateway-error.js'
import { envNameFor } from './env.js'
import { defaultConfig, loadConfig } from './load.js'

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fleetcast-config-')), name)
  writeFileSync(file, text)
  return file
}

function loadError(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (GatewayError.is(error)) return error
    throw error
  }
  throw new Error('expected loadConfig to throw')
}

const app = { id: 'app-1', key: 'key-1', secret: 'secret-123' }

describe('loadConfig', () => {
  it('fills every default when nothing is given', () => {
    const config = loadConfig({ env: {} })
    expect(config).toEqual(defaultConfig())
    expect(config.http).toEqual({ host: '0.0.0.0', port: 6001, pathPrefix: '', tls: null })
    expect(config.mqtt).toMatchObject({
      host: '0.0.0.0',
      port: 1883,
      tls: null,
      websocket: true,
      allowAnonymous: false,
    })
    expect(config.store.path).toBe('./data/fleetcast.db')
    expect(config.log.level).toBe('info')
    expect(config.apps).toEqual([])
  })

  it('applies defaults < file < env < overrides', () => {
    const file = tempFile(
      'c.yaml',
      'http:\n  port: 7000\n  host: 127.0.0.1\nmqtt:\n  port: 1999\nlog:\n  level: debug\n',
    )
    const config = loadConfig({
      file,
      env: { FLEETCAST_MQTT__PORT: '1884', FLEETCAST_LOG__LEVEL: 'warn' },
      overrides: { log: { level: 'error' } },
    })
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 7000 })
    expect(config.mqtt.port).toBe(1884)
    expect(config.log.level).toBe('error')
  })

  it('derives env names mechanically, camelCase to UPPER_SNAKE and nesting by __', () => {
    expect(envNameFor(['mqtt', 'port'])).toBe('FLEETCAST_MQTT__PORT')
    expect(envNameFor(['pusher', 'activityTimeout'])).toBe('FLEETCAST_PUSHER__ACTIVITY_TIMEOUT')
    const config = loadConfig({ env: { FLEETCAST_PUSHER__ACTIVITY_TIMEOUT: '30' } })
    expect(config.pusher.activityTimeout).toBe(30)
  })

  it('reads array keys from env as JSON', () => {
    const config = loadConfig({ env: { FLEETCAST_APPS: JSON.stringify([app]) } })
    expect(config.apps).toEqual([
      {
        ...app,
        enabled: true,
        clientEvents: false,
        webhooks: [],
        maxConnections: null,
        allowedOrigins: [],
        userAuthenticationTimeout: 0,
        subscriptionCount: false,
        maxBackendEventsPerSecond: null,
        maxReadRequestsPerSecond: null,
        maxMessagesPerDay: null,
      },
    ])
  })

  it('takes the file from FLEETCAST_CONFIG when no file is passed', () => {
    const file = tempFile('c.yaml', 'mqtt:\n  port: 2000\n')
    expect(loadConfig({ env: { FLEETCAST_CONFIG: file } }).mqtt.port).toBe(2000)
  })

  it('lists every problem with its path in one error', () => {
    const file = tempFile(
      'bad.yaml',
      'http:\n  port: "high"\n  hots: x\nmqtt:\n  port: 70000\napps:\n  - id: a\n    key: k\n    secret: short\n    webhooks:\n      - url: ftp://x\n        events: [nope]\n',
    )
    const error = loadError(() =>
      loadConfig({ file, env: { FLEETCAST_LOG__LEVEL: 'loud', FLEETCAST_NOPE: '1' } }),
    )
    expect(error.code).toBe('FC_ERR_CONFIG_INVALID')
    const lines = error.message.split('\n').slice(1)
    expect(error.message).toMatch(/^Invalid configuration \(8 problems\):/)
    expect(lines).toEqual(
      expect.arrayContaining([
        '  - FLEETCAST_NOPE: unknown variable (no config key maps to it)',
        expect.stringMatching(/^ {2}- http\.port: .*number/),
        `  - http.hots: unknown key (in ${file})`,
        expect.stringMatching(/^ {2}- mqtt\.port: .*65535/),
        expect.stringMatching(/^ {2}- apps\[0\]\.secret: /),
        expect.stringMatching(/^ {2}- apps\[0\]\.webhooks\[0\]\.url: /),
        expect.stringMatching(/^ {2}- apps\[0\]\.webhooks\[0\]\.events\[0\]: /),
        expect.stringMatching(/^ {2}- log\.level: .*\(set by FLEETCAST_LOG__LEVEL\)$/),
      ]),
    )
    expect(lines).toHaveLength(8)
  })

  it('names the env variable when its value has the wrong type', () => {
    const error = loadError(() => loadConfig({ env: { FLEETCAST_MQTT__PORT: 'abc' } }))
    expect(error.message).toMatch(/mqtt\.port: .*number.*\(set by FLEETCAST_MQTT__PORT\)/)
  })

  it('rejects duplicate app ids and keys', () => {
    const error = loadError(() =>
      loadConfig({ env: {}, overrides: { apps: [app, { ...app, secret: 'another-1' }] } }),
    )
    expect(error.message).toContain('apps[1].id: duplicate app id "app-1" (also apps[0].id)')
    expect(error.message).toContain('apps[1].key: duplicate app key "key-1" (also apps[0].key)')
  })

  it('reports invalid YAML with its position', () => {
    const file = tempFile('broken.yaml', 'http:\n  port: [1, 2\nmqtt: {')
    const error = loadError(() => loadConfig({ file, env: {} }))
    expect(error.code).toBe('FC_ERR_CONFIG_FILE')
    expect(error.message).toContain(`Config file ${file} is not valid YAML`)
    expect(error.message).toMatch(/line \d+/)
  })

  it('rejects a file whose top level is not a mapping', () => {
    const file = tempFile('list.yaml', '- 1\n- 2\n')
    expect(loadError(() => loadConfig({ file, env: {} })).message).toContain('mapping')
  })

  it('reports a missing file by name', () => {
    const error = loadError(() => loadConfig({ file: '/nonexistent/fleetcast.yaml', env: {} }))
    expect(error.code).toBe('FC_ERR_CONFIG_FILE')
    expect(error.message).toBe('Cannot read config file /nonexistent/fleetcast.yaml: ENOENT')
  })

  it('returns a frozen object', () => {
    const config = loadConfig({ env: {} })
    expect(Object.isFrozen(config.http)).toBe(true)
  })
})
