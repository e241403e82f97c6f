import { type Command, Option } from 'commander'
import { stringify } from 'yaml'
import { defaultConfig } from '../../config/load.js'
import { configFor } from '../context.js'
import type { CliIo } from '../io.js'

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('check and print configuration')

  config
    .command('check')
    .description('validate the configuration (file, FLEETCAST_* variables) and list every problem')
    .addHelpText('after', '\nExample:\n  fleetcast --config fleetcast.yaml config check')
    .action((_options: unknown, command: Command) => {
      const loaded = configFor(command, io)
      io.stdout.write(`Configuration is valid (${loaded.apps.length} app(s) configured)\n`)
    })

  config
    .command('print-defaults')
    .description('print the built-in defaults as YAML (or JSON)')
    .addOption(new Option('--json', 'print JSON instead of YAML'))
    .action((options: { json?: boolean }) => {
      const defaults = defaultConfig()
      io.stdout.write(options.json ? `${JSON.stringify(defaults, null, 2)}\n` : stringify(defaults))
    })
}
