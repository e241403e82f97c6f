import { markdownTable, pairedRatios, range, ratioRange } from './report.mjs'

/**
 * The suite's markdown report (bench/run.mjs): per scenario and variant, min..max over the runs
 * of each figure per server, the ratios gateway / baseline paired run by run (min..max), the
 * flags (generator-bound, contended, CPU outside the band, failed steps, errors) and each
 * target's verdict.
 *
 * `entries`: one per scenario run, `{ scenario, servers, gateway, variants, notes, rows,
 * skipped, seconds }` where `scenario` is the module's default export and `rows` its
 * Measurements.
 */

/** The common figures of a Measurement, in report order. */
export const COMMON_FIGURES = [
  { key: 'cpuUsPerMsg', label: 'CPU-µs/msg', digits: 2, ratio: true },
  { key: 'ratePerSec', label: 'msgs/s' },
  { key: 'p50Us', label: 'p50 µs' },
  { key: 'p99Us', label: 'p99 µs' },
  { key: 'p999Us', label: 'p99.9 µs' },
  { key: 'serverCpuPct', label: 'server CPU %' },
  { key: 'generatorCpuPct', label: 'generator CPU %' },
]

/** Keys that are never a figure column of their own. */
const NOT_FIGURES = new Set([
  'run',
  'contentionPct',
  'offeredPerSec',
  'number',
  'generatorBound',
  'contended',
  'inBand',
  'pass',
])

const known = (v) => v !== null && v !== undefined && Number.isFinite(v)

/**
 * Scenario-specific columns: the module's `figures`, or else every numeric key of the rows that
 * is not a common figure and does not hold the same value in every row (a constant is a setting,
 * not a result), eight at most.
 */
function extraFigures(scenario, rows) {
  if (Array.isArray(scenario.figures)) return scenario.figures
  const common = new Set(COMMON_FIGURES.map((f) => f.key))
  const keys = new Set()
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (typeof value === 'number' && !common.has(key) && !NOT_FIGURES.has(key)) keys.add(key)
    }
  }
  return [...keys]
    .filter((key) => new Set(rows.map((r) => r[key])).size > 1)
    .slice(0, 8)
    .map((key) => ({ key, label: key }))
}

/** Digits for a figure: its own, or 2 for small values (CPU-µs of a cheap path), else 0. */
function digitsFor(figure, values) {
  if (figure.digits !== undefined) {
    const max = Math.max(...values.filter(known).map(Math.abs), 0)
    return max >= 100 ? 0 : max >= 10 ? Math.min(figure.digits, 1) : figure.digits
  }
  const max = Math.max(...values.filter(known).map(Math.abs), 0)
  return max > 0 && max < 10 ? 2 : 0
}

function flags(rows) {
  const n = rows.length
  const count = (test) => rows.filter(test).length
  const parts = [
    [count((r) => r.error), 'error'],
    [count((r) => r.generatorBound === true), 'generator-bound'],
    [count((r) => r.contended === true), 'contended'],
    [count((r) => r.inBand === false), 'CPU outside the band'],
    [count((r) => r.pass === false), 'step failed'],
  ]
  return (
    parts
      .filter(([c]) => c > 0)
      .map(([c, what]) => `${what} ${c}/${n}`)
      .join(', ') || 'none'
  )
}

function verdict(target, rows) {
  let result
  try {
    result = target.check(rows)
  } catch (error) {
    result = { met: null, detail: `check failed: ${error.message ?? error}` }
  }
  const mark = result.met === true ? 'met' : result.met === false ? '**missed**' : 'n/a'
  return { mark, detail: result.detail ?? '' }
}

function scenarioSection(entry) {
  const { scenario, servers, gateway, variants, notes, rows } = entry
  const head = `## ${scenario.number} ${scenario.id}: ${scenario.title}`
  const lines = [head, '']
  for (const note of notes) lines.push(`- ${note}`)
  if (entry.skipped) {
    if (notes.length === 0) lines.push('- skipped in this profile')
    return lines.join('\n')
  }
  if (notes.length) lines.push('')
  // A scenario's figure of a common key (its own label or ratio flag) replaces the common one.
  const extra = extraFigures(scenario, rows)
  const figures = [
    ...COMMON_FIGURES.map((common) => extra.find((f) => f.key === common.key) ?? common),
    ...extra.filter((f) => !COMMON_FIGURES.some((common) => common.key === f.key)),
  ].filter((figure) => rows.some((r) => known(r[figure.key])))
  const table = []
  for (const variant of variants) {
    for (const server of servers) {
      const mine = rows.filter((r) => r.variant === variant.name && r.server === server)
      if (mine.length === 0) continue
      table.push([
        variant.name,
        server,
        ...figures.map((figure) => {
          const values = mine.map((r) => r[figure.key])
          return range(values, digitsFor(figure, values))
        }),
        flags(mine),
      ])
    }
  }
  lines.push(markdownTable(['variant', 'server', ...figures.map((f) => f.label), 'flags'], table))

  const ratioFigures = figures.filter((f) => f.ratio)
  const ratios = []
  for (const variant of variants) {
    const ours = rows.filter((r) => r.variant === variant.name && r.server === gateway)
    for (const baseline of servers.filter((s) => s !== gateway)) {
      const theirs = rows.filter((r) => r.variant === variant.name && r.server === baseline)
      if (ours.length === 0 || theirs.length === 0) continue
      ratios.push([
        variant.name,
        `${gateway} / ${baseline}`,
        ...ratioFigures.map((f) => ratioRange(pairedRatios(ours, theirs, f.key))),
      ])
    }
  }
  if (ratios.length > 0 && ratioFigures.length > 0) {
    lines.push('', 'Ratios, run _i_ of the gateway over run _i_ of the baseline:', '')
    lines.push(markdownTable(['variant', 'ratio', ...ratioFigures.map((f) => f.label)], ratios))
  }
  if (scenario.targets?.length) {
    lines.push('', 'Targets:', '')
    for (const target of scenario.targets) {
      const { mark, detail } = verdict(target, rows)
      lines.push(`- ${mark}: ${target.description}${detail ? `. ${detail}` : ''}`)
    }
  }
  return lines.join('\n')
}

const duration = (seconds) =>
  seconds >= 90
    ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
    : `${Math.round(seconds)} s`

/** The whole report. `meta`: { profile, machine, build, wallSeconds }. */
export function suiteReport(entries, { profile, machine, build, wallSeconds }) {
  const lines = [
    `# Fleetcast bench suite, ${profile.name} profile`,
    '',
    `${machine}; gateway ${build}; ${profile.runs} run${profile.runs === 1 ? '' : 's'} per ` +
      `server and variant; wall time ${duration(wallSeconds)}.`,
    '',
    `CPU-µs/msg is the server's CPU time per delivered message at one open-loop step aimed at ` +
      `${profile.targetCpuPct} % server CPU (band ${profile.band[0]}..${profile.band[1]} %); ` +
      'every figure is min..max over the runs. Flags count runs: generator-bound (generator ' +
      `above ${profile.generatorBoundPct} % of its core: the figure is the generator's limit ` +
      `too), contended (other processes took more than ${profile.contendedPct} % of a core).`,
  ]
  const verdicts = []
  for (const entry of entries) {
    if (entry.skipped) continue
    for (const target of entry.scenario.targets ?? []) {
      const { mark, detail } = verdict(target, entry.rows)
      verdicts.push([
        `${entry.scenario.number} ${entry.scenario.id}`,
        target.description,
        mark,
        detail,
      ])
    }
  }
  if (verdicts.length > 0) {
    lines.push(
      '',
      '## Targets',
      '',
      markdownTable(['scenario', 'target', 'verdict', 'detail'], verdicts),
    )
  }
  for (const entry of entries) {
    lines.push(
      '',
      scenarioSection(entry) +
        (entry.seconds ? `\n\n(${duration(entry.seconds)} for this scenario)` : ''),
    )
  }
  return lines.join('\n')
}

/**
 * A target "`key` of `gateway` ≤ `max` × `baseline`'s", checked on every variant (or those
 * `variants` names) with ratios paired by run; met only when every paired ratio is. Rows that are
 * contended or generator-bound still count, and the detail says how many there were.
 */
export function ratioTarget({
  description,
  key = 'cpuUsPerMsg',
  gateway,
  baseline,
  max,
  variants,
}) {
  return {
    description,
    check(rows) {
      const names = variants ?? [...new Set(rows.map((r) => r.variant))]
      const parts = []
      const all = []
      for (const name of names) {
        const ours = rows.filter((r) => r.variant === name && r.server === gateway)
        const theirs = rows.filter((r) => r.variant === name && r.server === baseline)
        const ratios = pairedRatios(ours, theirs, key)
        if (ratios.length === 0) continue
        all.push(...ratios)
        const noisy = [...ours, ...theirs].filter((r) => r.contended || r.generatorBound).length
        parts.push(
          `${name}: ${ratioRange(ratios)}${noisy ? ` (${noisy} contended or generator-bound rows)` : ''}`,
        )
      }
      if (all.length === 0)
        return { met: null, detail: `no paired ${gateway} and ${baseline} runs` }
      return {
        met: all.every((r) => r <= max),
        detail: `${gateway} / ${baseline} ${parts.join('; ')}`,
      }
    },
  }
}
