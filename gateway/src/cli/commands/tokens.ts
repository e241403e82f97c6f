import { type Command, Option } from 'commander'
import type { TokenWithBearer } from '../../fleet/fleet-operations.js'
import { withFleet } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { collectNonEmpty, parsePositiveDuration } from '../options.js'
import { printList, printResult } from '../output.js'
import { renderFields } from '../table.js'
import { tokenColumns, tokenFields } from '../views.js'

interface CreateOptions {
  admin?: boolean
  app?: string
  grant?: string[]
  user?: string
  label?: string
  ttl?: number
  json?: boolean
}

function describeToken(token: TokenWithBearer): string {
  const use =
    token.kind === 'admin'
      ? 'Use it as: fleetcast --url <gateway> --token <token> ... (or FLEETCAST_ADMIN_TOKEN).'
      : 'Dashboards send it as Authorization: Bearer <token> to /pusher/auth and /pusher/user-auth.'
  return `${[
    `Token ${token.id} created. The token is shown only now:`,
    `  ${token.token}`,
    use,
    '',
  ].join('\n')}${renderFields(tokenFields(token, Date.now()))}`
}

/** `fleetcast tokens ...`: admin tokens for the admin API, viewer tokens for dashboards. */
export function registerTokenCommands(program: Command, io: CliIo): void {
  const tokens = examples(
    program
      .command('tokens')
      .description('admin tokens (admin API, --url) and viewer tokens (dashboard channel auth)'),
    'fleetcast tokens create --app app-1 --grant "private-device-*" --ttl 30d',
    'fleetcast tokens create --admin',
  )

  examples(
    tokens
      .command('create')
      .description('create a viewer token (default) or an admin token; prints it only this once')
      .addOption(
        new Option('--admin', 'an admin token: every app, or only --app').conflicts([
          'grant',
          'user',
        ]),
      )
      .option('--app <appId>', 'app of a viewer token; limits an admin token to this app')
      .option(
        '--grant <pattern>',
        'viewer grant, repeatable: a channel pattern (private-device-*) or tag:<key>=<value>',
        collectNonEmpty,
      )
      .option('--user <id>', 'user id a viewer token signs in as (presence, user authentication)')
      .option('--label <text>', 'note for lists and the audit log')
      .option(
        '--ttl <duration>',
        'stops working after this long (90s, 15m, 2h, 30d)',
        parsePositiveDuration,
      )
      .option('--json', 'print JSON: the token record and `token`, the bearer string'),
    'fleetcast tokens create --app app-1 --grant "private-device-*" --grant "presence-devices" --json',
    'fleetcast tokens create --app app-1 --grant tag:site=lab --user alice --ttl 12h',
    'fleetcast tokens create --admin --label "ops laptop"',
    'fleetcast tokens create --admin --app app-1 --ttl 7d',
  ).action(async (options: CreateOptions, command: Command) => {
    const token = await withFleet(command, io, (fleet) =>
      fleet.createToken({
        kind: options.admin ? 'admin' : 'viewer',
        appId: options.app,
        grants: options.grant,
        userId: options.user,
        label: options.label,
        ttlSeconds: options.ttl,
      }),
    )
    printResult(io, options.json, token, () => describeToken(token))
  })

  examples(
    tokens
      .command('list')
      .description('list tokens (never their bearer string)')
      .addOption(new Option('--kind <kind>', 'only this kind').choices(['admin', 'viewer']))
      .option('--app <appId>', 'only tokens of this app')
      .option('--json', 'print a JSON array of tokens'),
    'fleetcast tokens list',
    'fleetcast tokens list --kind viewer --app app-1 --json',
  ).action(
    async (
      options: { kind?: 'admin' | 'viewer'; app?: string; json?: boolean },
      command: Command,
    ) => {
      const rows = await withFleet(command, io, (fleet) =>
        fleet.listTokens({ kind: options.kind, appId: options.app }),
      )
      printList(io, options.json, rows, tokenColumns(Date.now()), 'tokens')
    },
  )

  examples(
    tokens
      .command('revoke')
      .description('stop a token working at once (kept in the list as revoked)')
      .argument('<id>', 'token id (tok_...), not the bearer string')
      .option('--json', 'print the token as JSON'),
    'fleetcast tokens revoke tok_3f9a1c0d5e7b2a46',
  ).action(async (id: string, options: { json?: boolean }, command: Command) => {
    const token = await withFleet(command, io, (fleet) => fleet.revokeToken(id))
    printResult(io, options.json, token, () => `Token ${token.id} is revoked.\n`)
  })
}
