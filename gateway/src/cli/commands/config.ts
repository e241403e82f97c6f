import { type Command, Option } from 'commander'
import { stringify } from 'yaml'
import { defaultConfig } from '../../config/load.js'
import { configFor } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = examples(
    program.command('config').description('check and print configuration'),
    'fleetcast --config fleetcast.yaml config check',
    'fleetcast config print-defaults > fleetcast.yaml',
  )

  examples(
    config
      .command('check')
      .description(
        'validate the configuration (file, FLEETCAST_* variables) and list every problem',
      ),
    'fleetcast --config fleetcast.yaml config check',
  ).action((_options: unknown, command: Command) => {
    const loaded = configFor(command, io)
    io.stdout.write(`Configuration is valid (${loaded.apps.length} app(s) configured)\n`)
  })

  examples(
    config
      .command('print-defaults')
      .description('print the built-in defaults as YAML (or JSON)')
      .addOption(new Option('--json', 'print JSON instead of YAML')),
    'fleetcast config print-defaults > fleetcast.yaml',
    'fleetcast config print-defaults --json',
  ).action((options: { json?: boolean }) => {
    const defaults = defaultConfig()
    io.stdout.write(options.json ? `${JSON.stringify(defaults, null, 2)}\n` : stringify(defaults))
  })
}
