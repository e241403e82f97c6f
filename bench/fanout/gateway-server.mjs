import { listeningGateway } from '../lib/listening-gateway.mjs'

/**
 * The server under test: the compiled Fleetcast gateway with one app and one device. The device is
 * provisioned with the CLI against the store file named by argv[2] (the driver owns that file),
 * then the gateway opens the same store. argv[3], when given, is the entry point of a snapshot of
 * gateway/dist taken by the driver, so a rebuild during the run changes nothing.
 */
const [storePath, entry = '@fleetcast/gateway'] = process.argv.slice(2)
if (!storePath) throw new Error('usage: gateway-server.mjs <store file> [gateway entry point]')
const { runCli } = await import(entry)
const DEVICE = 'bench-dev'
const app = { id: 'bench', key: 'bench-key', secret: 'bench-secret' }

let printed = ''
const code = await runCli(['devices', 'add', DEVICE, '--json'], {
  stdout: { write: (text) => (printed += text) },
  stderr: process.stderr,
  env: {
    FLEETCAST_STORE__PATH: storePath,
    FLEETCAST_APPS: JSON.stringify([app]),
    FLEETCAST_LOG__LEVEL: 'silent',
  },
  untilStopped: () => new Promise(() => {}),
})
if (code !== 0) throw new Error(`fleetcast devices add exited with ${code}`)
const { secret } = JSON.parse(printed)

const { http, mqtt } = await listeningGateway({ entry, storePath, app })
process.send({
  type: 'ready',
  ws: {
    host: '127.0.0.1',
    port: http.port,
    key: app.key,
    secret: app.secret,
    channel: `private-device-${DEVICE}`,
  },
  trigger: {
    kind: 'mqtt',
    host: '127.0.0.1',
    port: mqtt.port,
    deviceId: DEVICE,
    password: secret,
    topic: `devices/${DEVICE}/events/tick`,
  },
})
