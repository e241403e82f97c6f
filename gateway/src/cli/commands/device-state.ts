import type { Command } from 'commander'
import type { Device } from '../../domain/device.js'
import { revokeDevice, rotateDevice, setDeviceEnabled } from '../../fleet/device-admin.js'
import { withStore } from '../context.js'
import { parseDuration } from '../duration.js'
import { type CliIo, printJson } from '../io.js'

const LIVE_NOTE = 'A running gateway closes its connection within a second.'

function report(
  io: CliIo,
  json: boolean | undefined,
  device: Device,
  sentence: string,
  extra: Record<string, unknown> = {},
): void {
  if (json) printJson(io, { ...device, ...extra })
  else io.stdout.write(`${sentence}\n`)
}

/** `devices rotate|revoke|disable|enable`: credential and state changes that end live sessions. */
export function registerDeviceStateCommands(devices: Command, io: CliIo): void {
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
    .option('--json', 'print JSON: { id, appId, ..., secret }')
    .addHelpText(
      'after',
      '\nExamples:\n  fleetcast devices rotate thermo-1\n  fleetcast devices rotate thermo-1 --overlap 1h --json',
    )
    .action(async (id: string, options: { overlap: number; json?: boolean }, command: Command) => {
      const { device, secret } = await withStore(command, io, (store) =>
        rotateDevice(store, id, options.overlap),
      )
      const overlap =
        options.overlap > 0 ? ` The old secret works for ${options.overlap} more seconds.` : ''
      report(
        io,
        options.json,
        device,
        `Device ${id} has a new secret: ${secret}\n${LIVE_NOTE}${overlap}`,
        { secret },
      )
    })

  devices
    .command('revoke')
    .description('remove every secret of a device: it cannot log in until rotated')
    .argument('<id>', 'device id')
    .option('--json', 'print the device as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const device = await withStore(command, io, (store) => revokeDevice(store, id))
      report(
        io,
        options.json,
        device,
        `Device ${id} is revoked; rotate it to give it a secret again. ${LIVE_NOTE}`,
      )
    })

  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    devices
      .command(name)
      .description(
        enabled
          ? 'let a disabled device log in again'
          : 'refuse a device (CONNACK 5) until enabled',
      )
      .argument('<id>', 'device id')
      .option('--json', 'print the device as JSON')
      .action(async (id: string, options: { json?: boolean }, command: Command) => {
        const device = await withStore(command, io, (store) => setDeviceEnabled(store, id, enabled))
        report(
          io,
          options.json,
          device,
          `Device ${id} is ${enabled ? 'enabled' : `disabled. ${LIVE_NOTE}`}`,
        )
      })
  }
}
