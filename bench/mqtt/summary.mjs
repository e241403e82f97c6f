import { markdownTable, pairedRatios, range, ratioRange } from '../lib/report.mjs'

/** The markdown tables of an MQTT bench run: min..max over runs, ratios paired run by run. */

const LABELS = {
  gateway: 'gateway',
  aedes: 'bare aedes',
  mosquitto: 'mosquitto (daemon, unpinned)',
  'mosquitto-pinned': 'mosquitto (pinned)',
}

const ms = (values) =>
  range(
    values.map((v) => (v === null ? null : v / 1000)),
    1,
  )

function cpuNote(rows) {
  const notes = []
  const bound = rows.filter((r) => r.generatorBound).length
  const contended = rows.filter((r) => r.contended).length
  if (bound) notes.push(`${bound} generator-bound`)
  if (contended) notes.push(`${contended} contended`)
  return `${range(rows.map((r) => r.generatorCpuPct))}${notes.length ? ` (${notes.join(', ')})` : ''}`
}

function ratioCell(gateway, rows, key) {
  return rows[0]?.server === 'gateway' ? '1' : ratioRange(pairedRatios(gateway, rows, key))
}

function connectTable(results, servers) {
  const all = results.filter((r) => r.bench === 'mqtt-connect')
  if (all.length === 0) return null
  const gateway = all.filter((r) => r.server === 'gateway')
  const n = all[0].n
  const rows = servers.map((server) => {
    const rs = all.filter((r) => r.server === server)
    return [
      LABELS[server] ?? server,
      range(rs.map((r) => r.fleetConnectsPerSec)),
      `${ms(rs.map((r) => r.fleetP50Us))} / ${ms(rs.map((r) => r.fleetP99Us))}`,
      range(rs.map((r) => r.perSec)),
      `${ms(rs.map((r) => r.p50Us))} / ${ms(rs.map((r) => r.p99Us))}`,
      range(rs.map((r) => r.perServerCpuSec)),
      cpuNote(rs),
      `${ratioCell(gateway, rs, 'fleetConnectsPerSec')}; ${ratioCell(gateway, rs, 'perSec')}`,
    ]
  })
  return markdownTable(
    [
      'server',
      `fleet of ${n}: connects/s (50 in flight)`,
      'fleet CONNACK p50 / p99 ms',
      'open loop: connects/s',
      'open loop p50 / p99 ms',
      'connects per server CPU-second',
      'generator CPU %',
      'gateway / server (fleet; open loop)',
    ],
    rows,
  )
}

function publishTable(results, servers) {
  const all = results.filter((r) => r.bench === 'mqtt-publish')
  if (all.length === 0) return null
  const rows = []
  for (const qos of [...new Set(all.map((r) => r.qos))]) {
    const gateway = all.filter((r) => r.server === 'gateway' && r.qos === qos)
    for (const server of servers) {
      const rs = all.filter((r) => r.server === server && r.qos === qos)
      rows.push([
        String(qos),
        LABELS[server] ?? server,
        range(rs.map((r) => r.perSec)),
        `${range(rs.map((r) => r.p50Us))} / ${range(rs.map((r) => r.p99Us))}`,
        range(rs.map((r) => r.serverCpuPct)),
        range(rs.map((r) => r.perServerCpuSec)),
        cpuNote(rs),
        `${ratioCell(gateway, rs, 'perSec')}; ${ratioCell(gateway, rs, 'perServerCpuSec')}`,
      ])
    }
  }
  return markdownTable(
    [
      'QoS',
      'server',
      `msgs/s (${all[0].n} devices)`,
      'p50 / p99 µs',
      'server CPU %',
      'msgs per server CPU-second',
      'generator CPU %',
      'gateway / server (msgs/s; per CPU-s)',
    ],
    rows,
  )
}

export function summaryTables(results, servers) {
  return [connectTable(results, servers), publishTable(results, servers)]
    .filter(Boolean)
    .join('\n\n')
}
