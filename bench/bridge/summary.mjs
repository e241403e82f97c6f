import { markdownTable, pairedRatios, range, ratioRange } from '../lib/report.mjs'

/** The markdown tables of a bridge bench run: min..max over runs, ratios paired run by run. */

export const rulesOf = (server) => {
  const match = /^gateway-(\d+)$/.exec(server)
  return match ? Number(match[1]) : null
}

function label(server) {
  const rules = rulesOf(server)
  if (rules === null) return server === 'aedes' ? 'bare aedes → MQTT subscriber' : server
  return `gateway, ${rules.toLocaleString('en-US')} rule${rules === 1 ? '' : 's'} → Pusher subscribers`
}

function cpuNote(rows) {
  const notes = []
  const bound = rows.filter((r) => r.generatorBound).length
  const contended = rows.filter((r) => r.contended).length
  if (bound) notes.push(`${bound} generator-bound`)
  if (contended) notes.push(`${contended} contended`)
  return `${range(rows.map((r) => r.generatorCpuPct))}${notes.length ? ` (${notes.join(', ')})` : ''}`
}

function resultTable(ok, servers) {
  const rows = servers
    .map((server) => ok.filter((r) => r.server === server))
    .filter((rs) => rs.length > 0)
    .map((rs) => [
      label(rs[0].server),
      String(rs.length),
      range(rs.map((r) => r.msgsPerSec)),
      range(rs.map((r) => r.p50Us)),
      range(rs.map((r) => r.p99Us)),
      range(rs.map((r) => r.p999Us)),
      range(rs.map((r) => r.serverCpuPct)),
      range(rs.map((r) => r.msgsPerServerCpuSec)),
      cpuNote(rs),
    ])
  return markdownTable(
    [
      'server',
      'runs',
      `delivered msgs/s (${ok[0].devices} devices)`,
      'p50 µs',
      'p99 µs',
      'p99.9 µs',
      'server CPU %',
      'msgs per server CPU-second',
      'generator CPU %',
    ],
    rows,
  )
}

/** gateway-N / aedes for every N, then every larger rule set / the smallest one. */
function ratioTable(ok, servers) {
  const gateways = servers
    .filter((s) => rulesOf(s) !== null)
    .sort((a, b) => rulesOf(a) - rulesOf(b))
  const pairs = []
  if (servers.includes('aedes')) for (const g of gateways) pairs.push([g, 'aedes'])
  for (const g of gateways.slice(1)) pairs.push([g, gateways[0]])
  const rows = pairs.map(([a, b]) => {
    const as = ok.filter((r) => r.server === a)
    const bs = ok.filter((r) => r.server === b)
    const ratios = pairedRatios(as, bs, 'msgsPerSec')
    return [
      `${a} / ${b}`,
      String(ratios.length),
      ratioRange(ratios),
      ratioRange(pairedRatios(as, bs, 'msgsPerServerCpuSec')),
      ratioRange(pairedRatios(as, bs, 'p50Us')),
      ratioRange(pairedRatios(as, bs, 'p99Us')),
    ]
  })
  if (rows.length === 0) return null
  return markdownTable(
    [
      'ratio (paired runs)',
      'pairs',
      'delivered msgs/s',
      'msgs per server CPU-second',
      'p50 latency',
      'p99 latency',
    ],
    rows,
  )
}

export function summaryTables(results, servers) {
  const ok = results.filter((r) => !r.error && r.msgsPerSec !== null)
  const failed = results.filter((r) => r.error || r.msgsPerSec === null)
  const parts = []
  if (ok.length > 0) parts.push(resultTable(ok, servers), ratioTable(ok, servers))
  if (failed.length > 0)
    parts.push(
      failed
        .map(
          (r) => `- ${r.server} run ${r.run}: ${r.error ?? 'no step passed'} (not in the tables)`,
        )
        .join('\n'),
    )
  return parts.filter(Boolean).join('\n\n')
}
