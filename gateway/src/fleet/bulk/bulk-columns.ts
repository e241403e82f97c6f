/**
 * The columns of an import or export file, in export order. JSON files use the same names as
 * object keys, so one validator serves both formats and an export imports back unchanged.
 */
export const IMPORT_COLUMNS = [
  'id',
  'app',
  'name',
  'tags',
  'acl_publish',
  'acl_subscribe',
  'enabled',
  'secret',
] as const

export type ImportColumn = (typeof IMPORT_COLUMNS)[number]

/** Export never writes secrets or hashes. */
export const EXPORT_COLUMNS = IMPORT_COLUMNS.filter((column) => column !== 'secret')

export type BulkFormat = 'csv' | 'json'

export const BULK_FORMATS: readonly BulkFormat[] = ['csv', 'json']

export function isImportColumn(name: string): name is ImportColumn {
  return (IMPORT_COLUMNS as readonly string[]).includes(name)
}

/** Where a row sits in its file: the physical line where a CSV record starts, or a JSON index. */
export type RowPlace = { line: number } | { index: number }

/** One bad row (or one bad field of it) in an import report. */
export type RowProblem = RowPlace & {
  /** The row's device id when it has a readable one. */
  id: string | null
  /** null when the problem is the row as a whole (wrong column count, not an object). */
  field: ImportColumn | null
  reason: string
}

/** A row as read from the file: CSV cells are strings, JSON values are whatever the file held. */
export interface RawRow {
  place: RowPlace
  values: Partial<Record<ImportColumn, unknown>>
}

/** A value from the file, quoted and escaped for a message (control characters too), and cut short. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value)
}

export function placeNumber(place: RowPlace): number {
  return 'line' in place ? place.line : place.index
}

/** The place of a problem, without its other fields. */
export function placeOf(problem: RowProblem): RowPlace {
  return 'line' in problem ? { line: problem.line } : { index: problem.index }
}

export function describePlace(place: RowPlace): string {
  return 'line' in place ? `line ${place.line}` : `index ${place.index}`
}

/** A file read into rows, before the rows are validated. */
export interface ReadRows {
  /** The columns the file has (for JSON: the keys any object has). */
  columns: ImportColumn[]
  rows: RawRow[]
  /** Rows refused while reading (wrong number of fields, not an object); not in `rows`. */
  problems: RowProblem[]
}
