import {
  type ImportColumn,
  isImportColumn,
  type RawRow,
  type ReadRows,
  type RowProblem,
} from './bulk-columns.js'
import { refuseFile, unknownColumnProblems } from './file-shape.js'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Where JSON.parse gave up, as a line number. Its own message is not repeated: newer engines quote
 * the text around the error, which may be a secret.
 */
function whereParsingStopped(text: string, error: Error): string {
  const position = /position (\d+)/.exec(error.message)?.[1]
  if (position === undefined) return ''
  const line = text.slice(0, Number(position)).split('\n').length
  return ` (line ${line}, character ${Number(position) - text.lastIndexOf('\n', Number(position) - 1)})`
}

/**
 * Reads a JSON file holding one array of device objects whose keys are the CSV column names.
 * Anything else (not JSON, not an array, an unknown key anywhere) is refused whole.
 */
export function readJson(bytes: Buffer): ReadRows {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '')
  if (text.trim() === '') refuseFile('The file is empty: expected a JSON array of device objects')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    refuseFile(`The file is not valid JSON${whereParsingStopped(text, error as Error)}`)
  }
  if (!Array.isArray(parsed)) {
    refuseFile(
      `The file must hold a JSON array of device objects, not ${parsed === null ? 'null' : typeof parsed}`,
    )
  }
  const rows: RawRow[] = []
  const problems: RowProblem[] = []
  const firstIndexOf = new Map<string, number>()
  parsed.forEach((item: unknown, index) => {
    if (!isObject(item)) {
      problems.push({ index, id: null, field: null, reason: 'is not an object' })
      return
    }
    for (const key of Object.keys(item)) if (!firstIndexOf.has(key)) firstIndexOf.set(key, index)
    rows.push({ place: { index }, values: item })
  })
  const unknown = [...firstIndexOf].flatMap(([key, index]) =>
    unknownColumnProblems([key], `index ${index}`),
  )
  if (unknown.length > 0) refuseFile(unknown.join('; '))
  const columns = [...firstIndexOf.keys()].filter(isImportColumn) satisfies ImportColumn[]
  return { columns, rows, problems }
}
