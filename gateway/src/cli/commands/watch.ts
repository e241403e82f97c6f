import type { Command } from 'commander'
import { channelStringToSign, hmacHex } from '../../auth/channel-signature.js'
import { GatewayError } from '../../errors/gateway-error.js'
import { resolveApp } from '../../fleet/provision-device.js'
import { configFor, withStore } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { PusherClient } from '../pusher-js.js'

interface WatchOptions {
  app?: string
  host?: string
  port?: string
  count?: string
}

/** A wildcard bind address is not something to connect to. */
function connectHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
}

export function registerWatchCommand(program: Command, io: CliIo): void {
  examples(
    program
      .command('watch')
      .description('subscribe to a channel with pusher-js and print each event as a JSON line')
      .argument('<channel>', 'channel name, e.g. private-device-thermo-1')
      .option('--app <appId>', 'app to connect as (needed when several apps exist)')
      .option('--host <host>', 'gateway host (default: from http.host)')
      .option('--port <port>', 'gateway port (default: from http.port)')
      .option('--count <n>', 'exit after this many events'),
    'fleetcast watch private-device-thermo-1',
    'fleetcast watch presence-devices --app app-1 --count 1',
  ).action(async (channel: string, options: WatchOptions, command: Command) => {
    const config = configFor(command, io)
    const app = await withStore(command, io, (store) => resolveApp(store, options.app))
    const limit = options.count === undefined ? Number.POSITIVE_INFINITY : Number(options.count)
    if (!(limit > 0))
      throw new GatewayError('FC_ERR_CONFIG_INVALID', '--count must be a positive number')
    const pusher = new PusherClient(app.key, {
      cluster: '',
      wsHost: options.host ?? connectHost(config.http.host),
      wsPort: options.port === undefined ? config.http.port : Number(options.port),
      forceTLS: false,
      enabledTransports: ['ws'],
      // Signed locally with the app secret: this tool speaks for the app backend.
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, callback) =>
          callback(null, {
            auth: `${app.key}:${hmacHex(app.secret, channelStringToSign(socketId, channelName))}`,
          }),
      },
    })
    try {
      await new Promise<void>((resolve, reject) => {
        let received = 0
        const subscription = pusher.subscribe(channel)
        subscription.bind('pusher:subscription_error', (error: { error?: string }) =>
          reject(
            new GatewayError(
              'FC_ERR_CONFIG_INVALID',
              `Cannot subscribe to ${channel}: ${error.error ?? 'refused'}`,
            ),
          ),
        )
        subscription.bind_global((event: string, data: unknown) => {
          if (event.startsWith('pusher:')) return
          io.stdout.write(`${JSON.stringify({ channel, event, data })}\n`)
          received += 1
          if (received >= limit) resolve()
        })
        pusher.connection.bind('failed', () => reject(new Error('cannot connect to the gateway')))
        io.untilStopped().then(() => resolve(), reject)
      })
    } finally {
      pusher.disconnect()
    }
  })
}
