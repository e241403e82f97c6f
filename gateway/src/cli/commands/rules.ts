import type { Command } from 'commander'
import { type DryRunAnswer, dryRunDeviceId, dryRunUplink } from '../../bridge/dry-run.js'
import { compileUplinkRules, DEFAULT_UPLINK, UplinkRules } from '../../bridge/uplink-rules.js'
import { AdminClient } from '../../fleet/admin-client.js'
import { configFor, remoteTarget, withStore } from '../context.js'
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
      '\nExamples:\n  fleetcast rules test --topic devices/thermo-1/events/temp --payload \'{"c":21}\'\n  fleetcast --config fleet.yaml rules test --topic devices/pi/telemetry/cpu --payload 41.5 --device pi\n  fleetcast --url http://pi.local:6001 --token $TOKEN rules test --topic devices/pi/events/x  # the running rules',
    )
    .action(async (options: TestOptions, command: Command) => {
      const remote = remoteTarget(command, io)
      if (remote) {
        // The running gateway's rules, which a reload may have changed since it started.
        const answer = await new AdminClient(remote).json<DryRunAnswer>('rules/test', {
          method: 'POST',
          json: { topic: options.topic, payload: options.payload, device: options.device },
        })
        return printJson(io, answer)
      }
      const config = configFor(command, io)
      const compiled = compileUplinkRules(
        config.bridge.uplink.length > 0 ? config.bridge.uplink : DEFAULT_UPLINK,
      )
      const request = {
        topic: options.topic,
        payload: Buffer.from(options.payload),
        deviceId: options.device,
      }
      const stored = await withStore(command, io, (store) =>
        store.devices.find(dryRunDeviceId(request)),
      )
      printJson(io, dryRunUplink(new UplinkRules(compiled.rules), request, stored))
    })
}
