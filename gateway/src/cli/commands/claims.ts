import type { Command } from 'commander'
import type { ClaimWithSecret } from '../../fleet/fleet-operations.js'
import { withFleet } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { collectTag, parseCount, parsePositiveDuration } from '../options.js'
import { printList, printResult } from '../output.js'
import { renderFields } from '../table.js'
import { claimColumns, claimFields } from '../views.js'

interface CreateOptions {
  app?: string
  uses: number
  ttl?: number
  tag?: Record<string, string>
  label?: string
  json?: boolean
}

function describeClaim(claim: ClaimWithSecret): string {
  return `${[
    `Claim ${claim.id} created. The claim secret is shown only now:`,
    `  ${claim.claim}`,
    'Devices trade it for their own credentials (docs/provisioning.md).',
    '',
  ].join('\n')}${renderFields(claimFields(claim, Date.now()))}`
}

/** `fleetcast claims ...`: shared secrets a batch of devices trade for their own credentials. */
export function registerClaimCommands(program: Command, io: CliIo): void {
  const claims = examples(
    program
      .command('claims')
      .description('provisioning claims: a batch of devices gets its own credentials'),
    'fleetcast claims create --uses 50 --ttl 7d --tag site=lab',
    'fleetcast claims list',
  )

  examples(
    claims
      .command('create')
      .description('create a claim and print its secret (only this once)')
      .option('--app <appId>', 'app the devices join (needed when several apps exist)')
      .requiredOption('--uses <n>', 'how many devices may use it', parseCount)
      .option(
        '--ttl <duration>',
        'stops working after this long (90s, 15m, 2h, 7d)',
        parsePositiveDuration,
      )
      .option(
        '--tag <key=value>',
        'tag every device provisioned with it gets, repeatable',
        collectTag,
      )
      .option('--label <text>', 'note for lists and the audit log')
      .option('--json', 'print JSON: the claim record and `claim`, its secret'),
    'fleetcast claims create --uses 50 --ttl 7d --tag site=lab --json',
    'fleetcast claims create --app app-1 --uses 1 --label "replacement for thermo-7"',
  ).action(async (options: CreateOptions, command: Command) => {
    const claim = await withFleet(command, io, (fleet) =>
      fleet.createClaim({
        appId: options.app,
        uses: options.uses,
        ttlSeconds: options.ttl,
        tags: options.tag,
        label: options.label,
      }),
    )
    printResult(io, options.json, claim, () => describeClaim(claim))
  })

  examples(
    claims
      .command('list')
      .description('list claims (never their secret)')
      .option('--app <appId>', 'only claims of this app')
      .option('--json', 'print a JSON array of claims'),
    'fleetcast claims list',
    'fleetcast claims list --app app-1 --json',
  ).action(async (options: { app?: string; json?: boolean }, command: Command) => {
    const rows = await withFleet(command, io, (fleet) => fleet.listClaims({ appId: options.app }))
    printList(io, options.json, rows, claimColumns(Date.now()), 'claims')
  })

  examples(
    claims
      .command('revoke')
      .description('stop a claim working at once (devices already provisioned keep theirs)')
      .argument('<id>', 'claim id (clm_...), not the claim secret')
      .option('--json', 'print the claim as JSON'),
    'fleetcast claims revoke clm_5b0e2d7a9c1f3e84',
  ).action(async (id: string, options: { json?: boolean }, command: Command) => {
    const claim = await withFleet(command, io, (fleet) => fleet.revokeClaim(id))
    printResult(io, options.json, claim, () => `Claim ${claim.id} is revoked.\n`)
  })
}
