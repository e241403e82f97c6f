import type { Command } from 'commander'
import type { FleetOperations } from '../../fleet/fleet-operations.js'
import { withFleet } from '../context.js'
import { parseDuration } from '../duration.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { printResult } from '../output.js'

const LIVE_NOTE = 'A running gateway closes its connection within a second.'

interface StateCommand {
  name: string
  description: string
  change: (fleet: FleetOperations, id: string) => ReturnType<FleetOperations['revokeDevice']>
  sentence: (id: string) => string
}

const STATE_COMMANDS: StateCommand[] = [
  {
    name: 'revoke',
    description: 'remove every secret of a device: it cannot log in until rotated',
    change: (fleet, id) => fleet.revokeDevice(id),
    sentence: (id) => `Device ${id} is revoked; rotate it to give it a secret again. ${LIVE_NOTE}`,
  },
  {
    name: 'disable',
    description: 'refuse a device (CONNACK 5) until enabled',
    change: (fleet, id) => fleet.setDeviceEnabled(id, false),
    sentence: (id) => `Device ${id} is disabled. ${LIVE_NOTE}`,
  },
  {
    name: 'enable',
    description: 'let a disabled device log in again',
    change: (fleet, id) => fleet.setDeviceEnabled(id, true),
    sentence: (id) => `Device ${id} is enabled.`,
  },
  {
    name: 'kick',
    description: 'close the live connection and drop the persistent session; it may log in again',
    change: (fleet, id) => fleet.kickDevice(id),
    sentence: (id) => `Device ${id} is kicked. ${LIVE_NOTE} It may log in again.`,
  },
]

/** `devices rotate|revoke|disable|enable|kick`: credential and state changes that end live sessions. */
export function registerDeviceStateCommands(devices: Command, io: CliIo): void {
  examples(
    devices
      .command('rotate')
      .description('issue a new secret (printed once); the old one keeps working for --overlap')
      .argument('<id>', 'device id')
      .option(
        '--overlap <duration>',
        'how long the old secret still logs in (90s, 15m, 2h, 7d)',
        parseDuration,
        0,
      )
      .option('--json', 'print JSON: the device and its new secret'),
    'fleetcast devices rotate thermo-1',
    'fleetcast devices rotate thermo-1 --overlap 1h --json',
  ).action(async (id: string, options: { overlap: number; json?: boolean }, command: Command) => {
    const device = await withFleet(command, io, (fleet) => fleet.rotateDevice(id, options.overlap))
    const overlap =
      options.overlap > 0 ? ` The old secret works for ${options.overlap} more seconds.` : ''
    printResult(
      io,
      options.json,
      device,
      () => `Device ${id} has a new secret: ${device.secret}\n${LIVE_NOTE}${overlap}\n`,
    )
  })

  for (const { name, description, change, sentence } of STATE_COMMANDS) {
    examples(
      devices
        .command(name)
        .description(description)
        .argument('<id>', 'device id')
        .option('--json', 'print the device as JSON'),
      `fleetcast devices ${name} thermo-1`,
      `fleetcast --url http://pi.local:6001 --token "$ADMIN_TOKEN" devices ${name} thermo-1 --json`,
    ).action(async (id: string, options: { json?: boolean }, command: Command) => {
      const device = await withFleet(command, io, (fleet) => change(fleet, id))
      printResult(io, options.json, device, () => `${sentence(id)}\n`)
    })
  }
}
