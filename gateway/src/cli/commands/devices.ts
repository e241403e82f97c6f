import { type Command, InvalidArgumentError } from 'commander'
import { provisionDevice } from '../../fleet/provision-device.js'
import { withStore } from '../context.js'
import { type CliIo, printJson } from '../io.js'
import { registerDeviceStateCommands } from './device-state.js'

function collectTag(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=')
  if (at <= 0) throw new InvalidArgumentError('expected key=value')
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) }
}

interface AddOptions {
  app?: string
  name?: string
  tag: Record<string, string>
  json?: boolean
}

export function registerDeviceCommands(program: Command, io: CliIo): void {
  const devices = program.command('devices').description('provision and inspect devices')

  devices
    .command('add')
    .description('register a device and print its secret (shown only this once)')
    .argument('<id>', 'device id: also its MQTT username and client id')
    .option('--app <appId>', 'app the device belongs to (needed when several apps exist)')
    .option('--name <name>', 'human-readable name')
    .option('--tag <key=value>', 'tag, repeatable', collectTag, {})
    .option('--json', 'print JSON: { id, appId, secret, ... }')
    .addHelpText(
      'after',
      '\nExamples:\n  fleetcast devices add thermo-1\n  fleetcast devices add thermo-2 --app app-1 --tag site=lab --json',
    )
    .action(async (id: string, options: AddOptions, command: Command) => {
      const { device, secret } = await withStore(command, io, (store) =>
        provisionDevice(store, { id, appId: options.app, name: options.name, tags: options.tag }),
      )
      if (options.json) return printJson(io, { ...device, secret })
      io.stdout.write(
        [
          `Device ${device.id} added to app ${device.appId}.`,
          `  MQTT username and client id: ${device.id}`,
          `  MQTT password (secret):      ${secret}`,
          'The secret is shown only now; store it on the device.',
          '',
        ].join('\n'),
      )
    })
  registerDeviceStateCommands(devices, io)
}
