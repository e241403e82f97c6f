import type { Command } from 'commander'
import { compileUplinkRules, DEFAULT_UPLINK, UplinkRules } from '../../bridge/uplink-rules.js'
import { configFor, withStore } from '../context.js'
import { examples } from '../help.js'
import { type CliIo, printJson } from '../io.js'

interface TestOptions {
  topic: string
  payload: string
  device?: string
}

/** `fleetcast rules test`: what the uplink rules would make of one publish, without sending it. */
export function registerRulesCommands(program: Command, io: CliIo): void {
  const rules = examples(
    program.command('rules').description('inspect the bridge mapping rules'),
    'fleetcast rules test --topic devices/thermo-1/events/temp --payload \'{"c":21}\'',
  )
  rules
    .command('test')
    .description('show the rule, channel, event and data a device publish would produce (dry run)')
    .requiredOption('--topic <topic>', 'MQTT topic the device publishes to')
    .option('--payload <text>', 'payload as text', '')
    .option(
      '--device <id>',
      'publishing device (default: the deviceId the topic names); read from the store for its name and tags',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  fleetcast rules test --topic devices/thermo-1/events/temp --payload \'{"c":21}\'\n  fleetcast --config fleet.yaml rules test --topic devices/pi/telemetry/cpu --payload 41.5 --device pi',
    )
    .action(async (options: TestOptions, command: Command) => {
      const config = configFor(command, io)
      const compiled = compileUplinkRules(
        config.bridge.uplink.length > 0 ? config.bridge.uplink : DEFAULT_UPLINK,
      )
      const deviceId = options.device ?? /^devices\/([^/]+)\//.exec(options.topic)?.[1] ?? ''
      const stored = await withStore(command, io, (store) => store.devices.find(deviceId))
      const device = { deviceId, name: stored?.name ?? null, tags: stored?.tags ?? {} }
      const outcome = new UplinkRules(compiled.rules).map(
        device,
        options.topic,
        Buffer.from(options.payload),
        Date.now(),
      )
      printJson(io, {
        device: { id: deviceId, known: stored !== undefined },
        events: outcome.events.map(({ rule, channel, event, data }) => ({
          rule,
          channel,
          event,
          data: JSON.parse(data) as unknown,
        })),
        dropped: outcome.dropped,
      })
    })
}
