import { Command, CommanderError } from 'commander'
import { GatewayError } from '../errors/gateway-error.js'
import { registerAppCommands } from './commands/apps.js'
import { registerAuditCommand } from './commands/audit.js'
import { registerClaimCommands } from './commands/claims.js'
import { registerConfigCommands } from './commands/config.js'
import { registerDeviceCommands } from './commands/devices.js'
import { registerRulesCommands } from './commands/rules.js'
import { registerStartCommand } from './commands/start.js'
import { registerTokenCommands } from './commands/tokens.js'
import { registerWatchCommand } from './commands/watch.js'
import { ExitStatus, exitStatusFor } from './exit-status.js'
import { examples } from './help.js'
import { type CliIo, processIo } from './io.js'
import { UsageError } from './usage-error.js'

/** The whole command tree, writing to `io`; exported so a test can walk every command's help. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('fleetcast')
    .description('Fleetcast: MQTT device fleets to Pusher-protocol web clients')
    .option(
      '-c, --config <file>',
      'YAML config file (default: $FLEETCAST_CONFIG, else built-in defaults)',
    )
    .option(
      '--url <url>',
      'gateway HTTP address: registry commands go through its admin API (default: $FLEETCAST_URL; without it they work on the store file)',
    )
    .option('--token <token>', 'admin token for --url (default: $FLEETCAST_ADMIN_TOKEN)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
  examples(
    program,
    'fleetcast start',
    'fleetcast devices add thermo-1',
    'FLEETCAST_URL=http://pi.local:6001 FLEETCAST_ADMIN_TOKEN=fca_... fleetcast devices list --online',
  )
  registerStartCommand(program, io)
  registerConfigCommands(program, io)
  registerAppCommands(program, io)
  registerDeviceCommands(program, io)
  registerTokenCommands(program, io)
  registerClaimCommands(program, io)
  registerAuditCommand(program, io)
  registerRulesCommands(program, io)
  registerWatchCommand(program, io)
  return program
}

/** Runs one CLI invocation and resolves to its exit status; never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' })
    return ExitStatus.Ok
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; their text is already printed.
      return error.exitCode === 0 ? ExitStatus.Ok : ExitStatus.Usage
    }
    if (error instanceof UsageError) {
      io.stderr.write(`fleetcast: ${error.message}\n`)
      return ExitStatus.Usage
    }
    if (GatewayError.is(error)) {
      io.stderr.write(`fleetcast: ${error.message}\n`)
      return exitStatusFor(error.code)
    }
    io.stderr.write(
      `fleetcast: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return ExitStatus.Failed
  }
}
