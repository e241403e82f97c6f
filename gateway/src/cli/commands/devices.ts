import { type Command, Option } from 'commander'
import { withFleet } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { collectTag, parseCount } from '../options.js'
import { printList, printResult } from '../output.js'
import { renderFields } from '../table.js'
import { deviceColumns, deviceFields } from '../views.js'
import { registerDeviceBulkCommands } from './device-bulk.js'
import { registerDeviceStateCommands } from './device-state.js'

interface AddOptions {
  app?: string
  name?: string
  tag?: Record<string, string>
  json?: boolean
}

interface ListOptions {
  app?: string
  tag?: Record<string, string>
  online?: boolean
  offline?: boolean
  after?: string
  limit?: number
  json?: boolean
}

export function registerDeviceCommands(program: Command, io: CliIo): void {
  const devices = examples(
    program.command('devices').description('provision, inspect and control devices'),
    'fleetcast devices add thermo-1',
    'fleetcast devices list --tag site=lab --online',
  )

  examples(
    devices
      .command('add')
      .description('register a device and print its secret (shown only this once)')
      .argument('<id>', 'device id: also its MQTT username and client id')
      .option('--app <appId>', 'app the device belongs to (needed when several apps exist)')
      .option('--name <name>', 'human-readable name')
      .option('--tag <key=value>', 'tag, repeatable', collectTag)
      .option('--json', 'print JSON: the device and its secret'),
    'fleetcast devices add thermo-1',
    'fleetcast devices add thermo-2 --app app-1 --name "Lab thermometer" --tag site=lab --json',
  ).action(async (id: string, options: AddOptions, command: Command) => {
    const device = await withFleet(command, io, (fleet) =>
      fleet.addDevice({ id, appId: options.app, name: options.name, tags: options.tag }),
    )
    printResult(io, options.json, device, () =>
      [
        `Device ${device.id} added to app ${device.appId}.`,
        `  MQTT username and client id: ${device.id}`,
        `  MQTT password (secret):      ${device.secret}`,
        'The secret is shown only now; store it on the device.',
        '',
      ].join('\n'),
    )
  })

  examples(
    devices
      .command('list')
      .description('list devices by id, filtered by app, tags and connection state')
      .option('--app <appId>', 'only devices of this app')
      .option(
        '--tag <key=value>',
        'only devices with this tag; repeat to require several',
        collectTag,
      )
      .addOption(new Option('--online', 'only devices connected now').conflicts('offline'))
      .addOption(new Option('--offline', 'only devices not connected now'))
      .option('--after <id>', 'only ids after this one (the last id of the previous page)')
      .option('--limit <n>', 'at most this many devices', parseCount)
      .option('--json', 'print a JSON array of devices'),
    'fleetcast devices list',
    'fleetcast devices list --app app-1 --tag site=lab --tag floor=2 --online',
    'fleetcast devices list --limit 100 --after thermo-099 --json',
  ).action(async (options: ListOptions, command: Command) => {
    const online = options.online ? true : options.offline ? false : undefined
    const rows = await withFleet(command, io, (fleet) =>
      fleet.listDevices({
        appId: options.app,
        tags: options.tag,
        online,
        after: options.after,
        limit: options.limit,
      }),
    )
    printList(io, options.json, rows, deviceColumns, 'devices')
  })

  examples(
    devices
      .command('show')
      .description('show one device: app, tags, state, ACL, connection and times')
      .argument('<id>', 'device id')
      .option('--json', 'print the device as JSON'),
    'fleetcast devices show thermo-1',
    'fleetcast devices show thermo-1 --json',
  ).action(async (id: string, options: { json?: boolean }, command: Command) => {
    const device = await withFleet(command, io, (fleet) => fleet.showDevice(id))
    printResult(io, options.json, device, () => renderFields(deviceFields(device)))
  })

  registerDeviceStateCommands(devices, io)
  registerDeviceBulkCommands(devices, io)
}
