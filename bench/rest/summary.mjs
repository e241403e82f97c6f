import { markdownTable, pairedRatios, range, ratioRange } from '../lib/report.mjs'

/** The markdown table of a REST bench run: min..max over runs, ratios paired run by run. */
const LABELS = { gateway: 'gateway', bare: 'bare node:http' }

function cpuNote(rows) {
  const notes = []
  const bound = rows.filter((r) => r.generatorBound).length
  const contended = rows.filter((r) => r.contended).length
  if (bound) notes.push(`${bound} generator-bound`)
  if (contended) notes.push(`${contended} contended`)
  return `${range(rows.map((r) => r.generatorCpuPct))}${notes.length ? ` (${notes.join(', ')})` : ''}`
}

export function summaryTable(results) {
  const ok = results.filter((r) => !r.error)
  const servers = [...new Set(ok.map((r) => r.server))]
  const gateway = ok.filter((r) => r.server === 'gateway')
  const rows = servers.map((server) => {
    const rs = ok.filter((r) => r.server === server)
    const ratio = (key) => (server === 'gateway' ? '1' : ratioRange(pairedRatios(gateway, rs, key)))
    return [
      LABELS[server] ?? server,
      range(rs.map((r) => r.requestsPerSec)),
      `${range(rs.map((r) => r.p50Us))} / ${range(rs.map((r) => r.p99Us))}`,
      server === 'gateway'
        ? `${range(rs.map((r) => r.restToWsP50Us))} / ${range(rs.map((r) => r.restToWsP99Us))}`
        : '-',
      range(rs.map((r) => r.serverCpuPct)),
      range(rs.map((r) => r.requestsPerServerCpuSec)),
      cpuNote(rs),
      `${ratio('requestsPerSec')}; ${ratio('requestsPerServerCpuSec')}`,
    ]
  })
  return markdownTable(
    [
      'server',
      'requests/s',
      'p50 / p99 µs',
      'REST to WebSocket p50 / p99 µs',
      'server CPU %',
      'requests per server CPU-second',
      'generator CPU %',
      'gateway / server (req/s; per CPU-s)',
    ],
    rows,
  )
}
