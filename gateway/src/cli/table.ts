/** One column of a human table: its header and how a row reads in it. */
export interface Column<T> {
  header: string
  value: (row: T) => string
  /** Longer cells are cut with an ellipsis; `--json` has the whole value. */
  maxWidth?: number
}

const DEFAULT_MAX_WIDTH = 40
const GAP = '  '

/** Control characters in stored text (a label, a tag) must not move the terminal's cursor. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`
}

/** Columns aligned by padding, two spaces apart, no trailing blanks; a header line on top. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((column) =>
      fit(printable(column.value(row)), column.maxWidth ?? DEFAULT_MAX_WIDTH),
    ),
  )
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i]?.length ?? 0)),
  )
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join(GAP)
      .trimEnd()
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')}\n`
}

/** One record as `label: value` lines, labels aligned (`show` commands). */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1
  return fields
    .map(([label, value]) => `${`${label}:`.padEnd(width)} ${printable(value)}\n`)
    .join('')
}

/** Epoch ms as ISO 8601 UTC to the second; `-` for never. */
export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function formatTags(tags: Record<string, string>): string {
  const pairs = Object.entries(tags).map(([key, value]) => `${key}=${value}`)
  return pairs.length > 0 ? pairs.join(',') : '-'
}

export function formatText(value: string | null): string {
  return value === null || value === '' ? '-' : value
}
