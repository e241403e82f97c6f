import { range } from '../lib/report.mjs'

/** The markdown table of a bench run: min..max over runs, ratio paired run by run. */
const TARGET_RATIO = 0.7

const latency = (rows) => `${range(rows.map((r) => r.p50Us))} / ${range(rows.map((r) => r.p99Us))}`

const cpu = (rows) => {
  const notes = []
  const bound = rows.filter((r) => r.generatorBound).length
  const contended = rows.filter((r) => r.contended).length
  if (bound) notes.push(`${bound} generator-bound`)
  if (contended) notes.push(`${contended} contended`)
  return `${range(rows.map((r) => r.generatorCpuPct))}%${notes.length ? ` (${notes.join(', ')})` : ''}`
}

export function summaryTable(results) {
  const lines = [
    '| N | gateway deliveries/s | bare ws deliveries/s | ratio gateway/bare | gateway p50 / p99 µs | bare ws p50 / p99 µs | per server CPU-second gateway; bare (ratio) | generator CPU gateway; bare |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  const verdicts = []
  for (const n of [...new Set(results.map((r) => r.n))]) {
    const gateway = results.filter((r) => r.n === n && r.server === 'gateway')
    const bare = results.filter((r) => r.n === n && r.server === 'bare')
    const pairs = gateway.map((g) => [g, bare.find((b) => b.run === g.run)])
    const ratioOf = (key) =>
      pairs.filter(([g, b]) => g[key] && b?.[key]).map(([g, b]) => g[key] / b[key])
    const ratios = ratioOf('deliveriesPerSec')
    const perCpu = (rows) => range(rows.map((r) => r.deliveriesPerServerCpuSec))
    const efficiency = `${perCpu(gateway)}; ${perCpu(bare)} (${range(ratioOf('deliveriesPerServerCpuSec'), 2)})`
    lines.push(
      `| ${n.toLocaleString('en-US')} | ${range(gateway.map((r) => r.deliveriesPerSec))} | ${range(bare.map((r) => r.deliveriesPerSec))} | ${range(ratios, 2)} | ${latency(gateway)} | ${latency(bare)} | ${efficiency} | ${cpu(gateway)}; ${cpu(bare)} |`,
    )
    if (ratios.length > 0) {
      const met = ratios.filter((r) => r >= TARGET_RATIO).length
      verdicts.push(
        `N=${n}: ratio >= ${TARGET_RATIO} in ${met} of ${ratios.length} paired runs (${met === ratios.length ? 'target met' : 'target not met'})`,
      )
    }
  }
  return [...lines, '', ...verdicts].join('\n')
}
