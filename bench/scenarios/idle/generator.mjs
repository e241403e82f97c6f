import { openBrowsers, openDevices, quantiles } from '../../lib/fleet-clients.mjs'
import { Histogram } from '../../lib/histogram.mjs'
import { serveCommands } from '../../lib/processes.mjs'

/**
 * The idle-capacity generator, a child of the runner pinned to the generator core. It opens and
 * then holds connections: `open` adds a batch of browsers (thin Pusher subscribers, each on a
 * channel of its own) or devices (raw MQTT sessions). A batch with `window: true` marks its
 * window (the runner reads the server's CPU over exactly its connects) and records its connect
 * latencies, which `status` reports over every such batch along with the connections the server
 * closed.
 */
const held = []
const latency = new Histogram()

const closedCount = () => held.filter((c) => c.closed).length

async function open({ kind, ws, channelPrefix, target, credentials, count, concurrency, window }) {
  const hist = window ? latency : new Histogram()
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  if (window) process.send({ type: 'window-start' })
  const opened =
    kind === 'browsers'
      ? (
          await openBrowsers(ws, count, {
            concurrency,
            hist,
            channelOf: (i) => `${channelPrefix}${held.length + i}`,
          })
        ).subscribers
      : (await openDevices(target, credentials, { concurrency, hist })).sessions
  if (window) process.send({ type: 'window-end' })
  held.push(...opened)
  const used = process.cpuUsage(cpu)
  const seconds = (performance.now() - t0) / 1000
  return {
    count: opened.length,
    ms: seconds * 1000,
    generatorCpuPct: ((used.user + used.system) / 1e6 / seconds) * 100,
  }
}

serveCommands(
  {
    open,
    status: () => ({ held: held.length, closed: closedCount(), ...quantiles(latency) }),
  },
  () => {
    for (const client of held) (client.reset ?? client.close).call(client)
  },
)
process.send({ type: 'started' })
