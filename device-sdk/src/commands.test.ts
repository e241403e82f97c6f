import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CommandJournal } from './command-journal.js'
import { parseCommand } from './commands.js'
import { resolveOptions } from './options.js'

const envelope = (over: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({ id: 'c1', name: 'reboot', args: { delay: 5 }, issuedAt: 1000, ...over }),
  )

describe('command envelopes', () => {
  it('parses the gateway envelope', () => {
    expect(parseCommand('devices/d1/commands/reboot', envelope(), 'd1')).toEqual({
      id: 'c1',
      name: 'reboot',
      args: { delay: 5 },
      issuedAt: 1000,
    })
    expect(
      parseCommand('devices/d1/commands/reboot', envelope({ expiresAt: 2000 }), 'd1'),
    ).toMatchObject({ expiresAt: 2000 })
  })

  it('says what is wrong with anything else', () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['devices/d2/commands/reboot', envelope(), /not a command topic/],
      ['devices/d1/commands/', envelope(), /not a command topic/],
      ['devices/d1/commands/reboot', Buffer.from('not json'), /not JSON/],
      ['devices/d1/commands/reboot', Buffer.from('[1,2]'), /not a JSON object/],
      ['devices/d1/commands/reboot', Buffer.from('null'), /not a JSON object/],
      ['devices/d1/commands/reboot', envelope({ id: 7 }), /id must be/],
      ['devices/d1/commands/reboot', envelope({ id: 'a/b' }), /id must be/],
      ['devices/d1/commands/reboot', envelope({ id: 'x'.repeat(201) }), /id must be/],
      ['devices/d1/commands/reboot', envelope({ name: 'other' }), /differs from the topic/],
      ['devices/d1/commands/reboot', envelope({ issuedAt: 'now' }), /issuedAt/],
      ['devices/d1/commands/reboot', envelope({ expiresAt: 'soon' }), /expiresAt/],
    ]
    for (const [topic, payload, problem] of cases) {
      const parsed = parseCommand(topic, payload, 'd1')
      expect('problem' in parsed && parsed.problem, `${topic} ${payload}`).toMatch(problem)
    }
  })
})

describe('command journal', () => {
  const options = { maxEntries: 3, maxAgeMs: 60_000, fsync: false }

  it('remembers started and finished commands across a reopen', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'fleetcast-sdk-journal-')), 'commands.log')
    const { journal } = await CommandJournal.open(path, options, 0)
    await journal.started('a', 10)
    await journal.started('b', 20)
    await journal.finished('a', 30, '{"id":"a","status":"ok"}')
    await journal.close()
    const { journal: again } = await CommandJournal.open(path, options, 40)
    expect(again.get('a')).toEqual({ at: 10, ack: '{"id":"a","status":"ok"}' })
    expect(again.get('b')).toEqual({ at: 20, ack: undefined })
    expect(again.get('c')).toBeUndefined()
    await again.close()
  })

  it('forgets the oldest ids past the window, by count and by age', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'fleetcast-sdk-journal-')), 'commands.log')
    const { journal } = await CommandJournal.open(path, options, 0)
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) await journal.started(id, i)
    expect(journal.get('a')).toBeUndefined()
    expect(journal.size).toBe(3)
    await journal.close()
    const { journal: later } = await CommandJournal.open(path, options, 60_002)
    expect(later.get('b')).toBeUndefined()
    expect(later.get('c')).toBeDefined()
    await later.close()
  })

  it('survives a corrupt journal file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'fleetcast-sdk-journal-')), 'commands.log')
    const { journal } = await CommandJournal.open(path, options, 0)
    await journal.started('keep', 1)
    await journal.close()
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from([0xfc, 3, 0, 0])]))
    const { journal: again, report } = await CommandJournal.open(path, options, 2)
    expect(report.truncatedBytes).toBe(4)
    expect(again.get('keep')).toBeDefined()
    await again.close()
  })
})

describe('device options', () => {
  const base = { url: 'mqtt://127.0.0.1:1883', deviceId: 'd1', secret: 's' }

  it('resolves defaults', () => {
    const resolved = resolveOptions(base)
    expect(resolved).toMatchObject({
      keepaliveSeconds: 30,
      connectTimeoutMs: 10_000,
      onAuthFailure: 'retry',
      maxInflight: 10,
      limits: { maxEventBytes: 10_240, maxPacketBytes: 131_072 },
      commandTimeoutMs: 30_000,
    })
    expect(resolved.dataDir).toBe(join(process.cwd(), '.fleetcast', 'd1'))
  })

  it('refuses every bad option with its name', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ url: 'not a url' }, /is not a URL/],
      [{ url: 'http://x' }, /protocol http:/],
      [{ deviceId: '' }, /deviceId/],
      [{ deviceId: 'a/b' }, /deviceId/],
      [{ secret: undefined }, /exactly one of secret and credentials/],
      [{ credentials: () => 's' }, /exactly one/],
      [{ secret: '' }, /secret must be/],
      [{ secret: undefined, credentials: 'x' }, /credentials must be a function/],
      [{ onAuthFailure: 'panic' }, /onAuthFailure/],
      [{ keepaliveSeconds: 0 }, /keepaliveSeconds/],
      [{ connectTimeoutMs: 1.5 }, /connectTimeoutMs/],
      [{ maxInflight: -1 }, /maxInflight/],
      [{ limits: { maxEventBytes: 10 } }, /limits.maxEventBytes/],
      [{ commands: { timeoutMs: 0 } }, /commands.timeoutMs/],
      [{ commands: { dedupe: { maxEntries: 0 } } }, /commands.dedupe.maxEntries/],
      [{ backoff: { minDelayMs: -5 } }, /backoff.minDelayMs/],
      [{ queue: { maxMessages: 0 } }, /queue.maxMessages/],
      [{ birth: [1] }, /birth/],
      [{ clock: 5 }, /clock/],
      [{ dataDir: '' }, /dataDir/],
    ]
    for (const [over, message] of bad)
      expect(() => resolveOptions({ ...base, ...over } as never), JSON.stringify(over)).toThrow(
        message,
      )
    expect(() => resolveOptions(null as never)).toThrow(/options object/)
  })
})
