import type { Command } from 'commander'
import type { App } from '../../domain/app.js'
import { createGateway } from '../../gateway.js'
import { createLogger } from '../../log.js'
import { configFor } from '../context.js'
import type { CliIo } from '../io.js'

function describeCreatedApp(app: App): string {
  return [
    `No app existed, so Fleetcast created one. Its secret is printed only this once:`,
    `  app id:     ${app.id}`,
    `  app key:    ${app.key}`,
    `  app secret: ${app.secret}`,
    '',
  ].join('\n')
}

export function registerStartCommand(program: Command, io: CliIo): void {
  program
    .command('start')
    .description('run the gateway until SIGINT or SIGTERM')
    .addHelpText(
      'after',
      '\nExamples:\n  fleetcast start\n  FLEETCAST_MQTT__PORT=1884 fleetcast start\n  fleetcast --config /etc/fleetcast.yaml start',
    )
    .action(async (_options: unknown, command: Command) => {
      const config = configFor(command, io)
      // Listen for SIGINT/SIGTERM before binding, so a signal during start-up still closes cleanly.
      const stopped = io.untilStopped()
      const gateway = createGateway(config, { log: createLogger(config.log, io.stdout) })
      if (gateway.createdApp) io.stdout.write(describeCreatedApp(gateway.createdApp))
      // SIGHUP re-reads the config file and swaps the bridge rules; connections stay.
      const stopReloading = io.onReload(() => {
        try {
          gateway.reloadBridge(configFor(command, io).bridge)
        } catch (error) {
          // A bad file (or bad rules) leaves the running rules in place.
          gateway.log.error(
            { err: error },
            `bridge rules not reloaded, the running ones stay: ${(error as Error).message}`,
          )
        }
      })
      await gateway.listen()
      const signal = await stopped
      stopReloading()
      gateway.log.info({ signal }, 'stopping')
      await gateway.close()
    })
}
