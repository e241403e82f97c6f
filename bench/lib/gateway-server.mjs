import { readFileSync } from 'node:fs'

/**
 * The server under test of the benchmarks: the compiled Fleetcast gateway with its defaults, on a
 * store file (argv[2]; the driver owns it, often a copy of one holding provisioned devices), with
 * the app of argv[3] (JSON) and, when argv[4] names a JSON file, its uplink rules as
 * `bridge.uplink` (an empty argv[4]: the default topic contract). argv[5], when given, is the entry
 * point of the driver's snapshot of gateway/dist, so a rebuild during the run changes nothing.
 * Logging is off; the REST API has no rate limit by default.
 */
const [storePath, appJson, rulesPath = '', entry = '@fleetcast/gateway'] = process.argv.slice(2)
if (!storePath || !appJson) {
  throw new Error(
    'usage: gateway-server.mjs <store file> <app json> [<uplink rules json file> [gateway entry point]]',
  )
}
const app = JSON.parse(appJson)
const uplink = rulesPath === '' ? [] : JSON.parse(readFileSync(rulesPath, 'utf8'))
const { createGateway, loadConfig } = await import(entry)

const config = loadConfig({
  env: {},
  overrides: {
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { host: '127.0.0.1', port: 0 },
    store: { path: storePath },
    log: { level: 'silent' },
    apps: [app],
    bridge: { uplink },
  },
})
const gateway = createGateway(config)
const { http, mqtt } = await gateway.listen()
process.on('message', (message) => {
  // No graceful close: --cpu-prof is written on exit, and the driver throws the store away.
  if (message.cmd === 'exit') process.exit(0)
})
process.send({
  type: 'ready',
  uplinkRules: config.bridge.uplink.length,
  mqtt: { host: '127.0.0.1', port: mqtt.port },
  ws: { host: '127.0.0.1', port: http.port, key: app.key, secret: app.secret },
})
