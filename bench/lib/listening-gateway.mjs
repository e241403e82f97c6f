/**
 * The gateway as the benchmark servers run it: the compiled gateway from `entry` (a driver's
 * snapshot of gateway/dist, so a rebuild during the run changes nothing) with its defaults, on the
 * store file `storePath`, with `app` and the `uplink` rules (none: the default topic contract),
 * loopback listeners on free ports, logging off and no REST rate limit. The process exits on the
 * driver's `{ cmd: 'exit' }` without a graceful close: that would ask every socket to reconnect,
 * --cpu-prof is written on exit, and the driver throws the store away.
 * Resolves to { config, http, mqtt } (the bound addresses).
 */
export async function listeningGateway({ entry, storePath, app, uplink = [] }) {
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
  const { http, mqtt } = await createGateway(config).listen()
  process.on('message', (message) => {
    if (message.cmd === 'exit') process.exit(0)
  })
  return { config, http, mqtt }
}
