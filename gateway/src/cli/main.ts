import { Command, CommanderError } from 'commander'
import { GatewayError } from '../errors/gateway-error.js'
import { registerConfigCommands } from './commands/config.js'
import { registerDeviceCommands } from './commands/devices.js'
import { registerRulesCommands } from './commands/rules.js'
import { registerStartCommand } from './commands/start.js'
import { registerWatchCommand } from './commands/watch.js'
import { type CliIo, ExitCode, processIo } from './io.js'

function buildProgram(io: CliIo): Command {
  const program = new Command('fleetcast')
    .description('Fleetcast: MQTT device fleets to Pusher-protocol web clients')
    .option(
      '-c, --config <file>',
      'YAML config file (default: $FLEETCAST_CONFIG, else built-in defaults)',
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
  registerStartCommand(program, io)
  registerConfigCommands(program, io)
  registerDeviceCommands(program, io)
  registerRulesCommands(program, io)
  registerWatchCommand(program, io)
  for (const command of program.commands) command.exitOverride()
  return program
}

function exitCodeFor(error: GatewayError): number {
  return error.code === 'FC_ERR_CONFIG_INVALID' || error.code === 'FC_ERR_CONFIG_FILE'
    ? ExitCode.Config
    : ExitCode.Failed
}

/** Runs one CLI invocation and resolves to its exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' })
    return ExitCode.Ok
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; their text is already printed.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage
    }
    if (GatewayError.is(error)) {
      io.stderr.write(`fleetcast: ${error.message}\n`)
      return exitCodeFor(error)
    }
    io.stderr.write(
      `fleetcast: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return ExitCode.Failed
  }
}
