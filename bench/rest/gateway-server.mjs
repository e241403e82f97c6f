/**
 * The server under test: the compiled Fleetcast gateway with one app (argv[3], JSON) on a fresh
 * store file (argv[2]; the driver owns it). argv[4], when given, is the entry point of the driver's
 * snapshot of gateway/dist, so a rebuild during the run changes nothing. Logging is off; the REST
 * API has no rate limit by default.
 */
const [storePath, appJson, entry = '@fleetcast/gateway'] = process.argv.slice(2)
if (!storePath || !appJson) {
  throw new Error('usage: gateway-server.mjs <store file> <app json> [gateway entry point]')
}
const app = JSON.parse(appJson)
const { createGateway, loadConfig } = await import(entry)

const gateway = createGateway(
  loadConfig({
    env: {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      store: { path: storePath },
      log: { level: 'silent' },
      apps: [app],
    },
  }),
)
const { http } = await gateway.listen()
process.on('message', (message) => {
  // No graceful close: --cpu-prof is written on exit, and the driver throws the store away.
  if (message.cmd === 'exit') process.exit(0)
})
process.send({ type: 'ready', host: '127.0.0.1', port: http.port })
