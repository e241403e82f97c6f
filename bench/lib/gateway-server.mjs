import { readFileSync } from 'node:fs'
import { listeningGateway } from './listening-gateway.mjs'

/**
 * The server under test of the benchmarks: the compiled Fleetcast gateway with its defaults, on a
 * store file (argv[2]; the driver owns it, often a copy of one holding provisioned devices), with
 * the app of argv[3] (JSON) and, when argv[4] names a JSON file, its uplink rules as
 * `bridge.uplink` (an empty argv[4]: the default topic contract). argv[5], when given, is the entry
 * point of the driver's snapshot of gateway/dist (listening-gateway.mjs says how it runs).
 */
const [storePath, appJson, rulesPath = '', entry = '@fleetcast/gateway'] = process.argv.slice(2)
if (!storePath || !appJson) {
  throw new Error(
    'usage: gateway-server.mjs <store file> <app json> [<uplink rules json file> [gateway entry point]]',
  )
}
const app = JSON.parse(appJson)
const { config, http, mqtt } = await listeningGateway({
  entry,
  storePath,
  app,
  uplink: rulesPath === '' ? [] : JSON.parse(readFileSync(rulesPath, 'utf8')),
})
process.send({
  type: 'ready',
  uplinkRules: config.bridge.uplink.length,
  mqtt: { host: '127.0.0.1', port: mqtt.port },
  ws: { host: '127.0.0.1', port: http.port, key: app.key, secret: app.secret },
})
