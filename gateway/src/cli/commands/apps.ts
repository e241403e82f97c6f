import type { Command } from 'commander'
import type { AppWithSecret } from '../../fleet/fleet-operations.js'
import { withFleet } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { printList, printResult } from '../output.js'
import { renderFields } from '../table.js'
import { appColumns, appFields } from '../views.js'

type JsonOption = { json?: boolean }

function describeSecret(app: AppWithSecret, headline: string): string {
  return [
    headline,
    `  app id:     ${app.id}`,
    `  app key:    ${app.key}`,
    `  app secret: ${app.secret}`,
    'The secret is shown only now; give it to the backends that sign for this app.',
    '',
  ].join('\n')
}

/** `fleetcast apps ...`: the Pusher apps browsers and backends connect to. */
export function registerAppCommands(program: Command, io: CliIo): void {
  const apps = examples(
    program.command('apps').description('create, inspect, enable and disable apps'),
    'fleetcast apps list',
    'fleetcast apps create dashboard --client-events',
  )

  examples(
    apps
      .command('create')
      .description('create an app and print its key and secret (the secret only this once)')
      .argument('[id]', 'app id (default: app- and 8 random hex digits)')
      .option('--client-events', 'let subscribers send client events on private/presence channels')
      .option('--json', 'print JSON: the app and its secret'),
    'fleetcast apps create',
    'fleetcast apps create dashboard --client-events --json',
  ).action(
    async (
      id: string | undefined,
      options: JsonOption & { clientEvents?: boolean },
      command: Command,
    ) => {
      const app = await withFleet(command, io, (fleet) =>
        fleet.createApp({ id, clientEvents: options.clientEvents }),
      )
      printResult(io, options.json, app, () => describeSecret(app, `App ${app.id} created.`))
    },
  )

  examples(
    apps
      .command('list')
      .description('list apps with their key, state and device count (never their secret)')
      .option('--json', 'print a JSON array of apps'),
    'fleetcast apps list',
    'fleetcast apps list --json',
  ).action(async (options: JsonOption, command: Command) => {
    const rows = await withFleet(command, io, (fleet) => fleet.listApps())
    printList(io, options.json, rows, appColumns, 'apps')
  })

  examples(
    apps
      .command('show')
      .description('show one app (never its secret)')
      .argument('<id>', 'app id')
      .option('--json', 'print the app as JSON'),
    'fleetcast apps show app-1',
  ).action(async (id: string, options: JsonOption, command: Command) => {
    const app = await withFleet(command, io, (fleet) => fleet.showApp(id))
    printResult(io, options.json, app, () => renderFields(appFields(app)))
  })

  examples(
    apps
      .command('rotate-secret')
      .description('give an app a new secret (printed once); the old one stops working at once')
      .argument('<id>', 'app id (not one defined in the config file: change that there)')
      .option('--json', 'print JSON: the app and its new secret'),
    'fleetcast apps rotate-secret dashboard',
  ).action(async (id: string, options: JsonOption, command: Command) => {
    const app = await withFleet(command, io, (fleet) => fleet.rotateAppSecret(id))
    printResult(io, options.json, app, () =>
      describeSecret(app, `App ${app.id} has a new secret; the old one no longer signs.`),
    )
  })

  for (const enabled of [false, true]) {
    const name = enabled ? 'enable' : 'disable'
    examples(
      apps
        .command(name)
        .description(
          enabled
            ? 'accept connections and API calls for an app again'
            : 'refuse new WebSocket connections (Pusher error 4003) and REST calls (403) until enabled',
        )
        .argument('<id>', 'app id (not one defined in the config file: change that there)')
        .option('--json', 'print the app as JSON'),
      `fleetcast apps ${name} dashboard`,
    ).action(async (id: string, options: JsonOption, command: Command) => {
      const app = await withFleet(command, io, (fleet) => fleet.setAppEnabled(id, enabled))
      printResult(io, options.json, app, () => `App ${app.id} is ${name}d.\n`)
    })
  }
}
