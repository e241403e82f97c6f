import { CsvError, parse } from 'csv-parse/sync'
import { DEVICE_ID_PATTERN } from '../../domain/names.js'
import {
  isImportColumn,
  quote,
  type RawRow,
  type ReadRows,
  type RowProblem,
} from './bulk-columns.js'
import { refuseFile, unknownColumnProblems } from './file-shape.js'

/** A single field this long is a broken file (a quote left open), not data. */
const MAX_RECORD_BYTES = 64 * 1024

/**
 * Counts line breaks (CRLF, LF or a lone CR) so a record can be reported by the physical line
 * it starts on. csv-parse's own line counter counts a quoted CRLF twice.
 */
class LineCounter {
  #offset = 0
  #line = 1

  constructor(private readonly bytes: Buffer) {}

  /** The line of the first byte at or after `offset` that is not a line break. */
  lineOfRecordAfter(offset: number): number {
    let start = offset
    while (start < this.bytes.length && (this.bytes[start] === 0x0a || this.bytes[start] === 0x0d))
      start += 1
    for (; this.#offset < start; this.#offset += 1) {
      const byte = this.bytes[this.#offset]
      if (byte === 0x0a || (byte === 0x0d && this.bytes[this.#offset + 1] !== 0x0a)) this.#line += 1
    }
    return this.#line
  }
}

/** Says what is wrong without quoting cells, which may hold secrets. */
function structureMessage(error: CsvError, line: number): string {
  const where = `line ${line}`
  switch (error.code as string) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `${where}: a quoted field starts in this record and is never closed`
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `${where}: after a quoted field's closing quote comes a character other than a comma or line break (a quote inside a quoted field must be doubled: "")`
    case 'INVALID_OPENING_QUOTE':
      return `${where}: a field holding a quote must be quoted as a whole, with the quote doubled ("")`
    case 'CSV_MAX_RECORD_SIZE':
      return `${where}: a record is longer than ${MAX_RECORD_BYTES} bytes (a quote left open?)`
    default:
      return `${where}: the record is malformed (${error.code})`
  }
}

/** A cell shown as the row's id only when it is one (it may be anything, a secret included). */
function readableId(cell: string | undefined): string | null {
  return cell !== undefined && DEVICE_ID_PATTERN.test(cell) ? cell : null
}

function isBlank(record: string[]): boolean {
  return record.every((cell) => cell.trim() === '')
}

/**
 * Reads a CSV file (header row first; BOM, CRLF, quoted fields with commas, quotes and line breaks)
 * into rows keyed by column. A file that is not CSV, or whose header is wrong, is refused whole.
 */
export function readCsv(bytes: Buffer): ReadRows {
  const lines = new LineCounter(bytes)
  const records: { record: string[]; line: number }[] = []
  let consumed = 0
  try {
    parse(bytes, {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: MAX_RECORD_BYTES,
      on_record: (record: string[], context) => {
        records.push({ record, line: lines.lineOfRecordAfter(consumed) })
        consumed = context.bytes
        return null
      },
    })
  } catch (error) {
    if (!(error instanceof CsvError)) throw error
    refuseFile(
      `The file is not valid CSV: ${structureMessage(error, lines.lineOfRecordAfter(consumed))}`,
    )
  }
  const body = records.filter(({ record }) => !isBlank(record))
  const header = body.shift()
  if (!header) refuseFile('The file is empty: expected a header row such as id,app,name,tags')
  const names = header.record.map((name) => name.trim().toLowerCase())
  const where = `the header (line ${header.line})`
  const problems = [
    ...unknownColumnProblems(names, where),
    ...[...new Set(names.filter((name, i) => names.indexOf(name) !== i))].map(
      (name) => `${where}: column ${quote(name)} appears twice`,
    ),
    ...(names.includes('id') ? [] : [`${where}: there is no id column`]),
  ]
  if (problems.length > 0) refuseFile(problems.join('; '))
  const columns = names.filter(isImportColumn)
  const idColumn = columns.indexOf('id')
  const rows: RawRow[] = []
  const rowProblems: RowProblem[] = []
  for (const { record, line } of body) {
    if (record.length !== columns.length) {
      rowProblems.push({
        line,
        id: readableId(record[idColumn]),
        field: null,
        reason: `has ${record.length} fields; the header has ${columns.length}`,
      })
      continue
    }
    rows.push({
      place: { line },
      values: Object.fromEntries(columns.map((column, i) => [column, record[i]])),
    })
  }
  return { columns, rows, problems: rowProblems }
}
