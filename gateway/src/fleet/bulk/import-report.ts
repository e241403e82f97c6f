import { type BulkFormat, describePlace, placeNumber, type RowProblem } from './bulk-columns.js'

/** What an import did (or, on a dry run, would do), row by row. `--json` prints it as is. */
export interface ImportReport {
  format: BulkFormat
  dryRun: boolean
  /** Data rows in the file. */
  rows: number
  created: number
  updated: number
  unchanged: number
  /** Rows not imported; each has one or more entries in `problems`. */
  invalid: number
  /** In file order. */
  problems: RowProblem[]
}

export function inFileOrder(problems: readonly RowProblem[]): RowProblem[] {
  return [...problems].sort((a, b) => placeNumber(a) - placeNumber(b))
}

/** Bad rows, counted once however many of their fields are bad. */
export function countBadRows(problems: readonly RowProblem[]): number {
  return new Set(problems.map(placeNumber)).size
}

/** The report for a terminal: the counts, then one line per problem. */
export function describeReport(report: ImportReport): string {
  const would = report.dryRun ? 'Dry run, nothing written: would have ' : ''
  const changed = report.created + report.updated
  const counts =
    `${would}${report.dryRun ? 'created' : 'Created'} ${report.created}, updated ${report.updated}, ` +
    `unchanged ${report.unchanged}, invalid ${report.invalid} (of ${report.rows} rows).`
  const lines = [counts]
  if (changed === 0 && report.invalid === 0 && report.rows > 0) {
    lines.push('Nothing to change: every device is already as the file describes it.')
  }
  for (const problem of report.problems) {
    const id = problem.id === null ? '' : ` (${problem.id})`
    const field = problem.field === null ? '' : `, ${problem.field}`
    lines.push(`  ${describePlace(problem)}${id}${field}: ${problem.reason}`)
  }
  return `${lines.join('\n')}\n`
}
