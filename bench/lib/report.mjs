import { cpus, loadavg } from 'node:os'

/** `min..max` of the known values (or the one value), en-US grouped; 'n/a' when none. */
export function range(values, digits = 0) {
  const known = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v))
  if (known.length === 0) return 'n/a'
  const f = (v) =>
    v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
  const min = Math.min(...known)
  const max = Math.max(...known)
  return f(min) === f(max) ? f(min) : `${f(min)}..${f(max)}`
}

/** `range` for ratios: two decimals, three below 0.1. */
export function ratioRange(values) {
  const known = values.filter((v) => Number.isFinite(v))
  return range(known, known.length > 0 && Math.max(...known) < 0.095 ? 3 : 2)
}

export const fmt = (value) =>
  value === null || value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US')

export const log = (text) => process.stderr.write(`${text}\n`)

/** One line about the machine, for the top of a bench's output. */
export function machineLine() {
  const model = cpus()[0]?.model ?? 'unknown CPU'
  const load = loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')
  return `node ${process.version}, ${cpus().length} cores (${model}), load average ${load}`
}

/** Ratios a/b paired run by run (same `run` number). */
export function pairedRatios(rows, baseline, key) {
  return rows
    .map((row) => [row, baseline.find((b) => b.run === row.run)])
    .filter(([a, b]) => a?.[key] && b?.[key])
    .map(([a, b]) => a[key] / b[key])
}

/** Markdown table from a header array and row arrays. */
export function markdownTable(header, rows) {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')
}
