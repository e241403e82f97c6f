import type { Command } from 'commander'
import { withFleet } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { parseCount, timeParser } from '../options.js'
import { printList } from '../output.js'
import { auditColumns } from '../views.js'

interface AuditOptions {
  since?: number
  until?: number
  actor?: string
  action?: string
  app?: string
  target?: string
  result?: string
  limit?: number
  json?: boolean
}

/** `fleetcast audit`: who did what to which target, when, with what result; newest first. */
export function registerAuditCommand(program: Command, io: CliIo): void {
  const time = timeParser()
  examples(
    program
      .command('audit')
      .description('show the audit log, newest first: admin actions and failed device logins')
      .option(
        '--since <time>',
        'from this time: a duration back (30m, 1h, 7d) or an ISO time',
        time,
      )
      .option('--until <time>', 'before this time: a duration back or an ISO time', time)
      .option('--actor <actor>', 'only this actor: cli, token:<id>, claim:<id>, address:<ip>')
      .option(
        '--action <action>',
        'only this action (device.add), or a family ending in . (device.)',
      )
      .option('--app <appId>', 'only entries about this app')
      .option('--target <id>', 'only entries about this device, app, token or claim id')
      .option('--result <result>', 'only this result: ok, refused, or an error code')
      .option('--limit <n>', 'at most this many entries (default 100)', parseCount)
      .option('--json', 'print a JSON array of entries'),
    'fleetcast audit --since 1h',
    'fleetcast audit --action device. --target thermo-1',
    'fleetcast audit --action device.login --result refused --since 2024-05-01T00:00:00Z --json',
  ).action(async (options: AuditOptions, command: Command) => {
    const rows = await withFleet(command, io, (fleet) =>
      fleet.audit({
        since: options.since,
        until: options.until,
        actor: options.actor,
        action: options.action,
        appId: options.app,
        target: options.target,
        result: options.result,
        limit: options.limit,
      }),
    )
    printList(io, options.json, rows, auditColumns, 'audit entries')
  })
}
