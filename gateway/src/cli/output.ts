import { type CliIo, printJson } from './io.js'
import { type Column, renderTable } from './table.js'

/** `--json`: the result as the FleetOperations shape; else the human text. */
export function printResult(
  io: CliIo,
  json: boolean | undefined,
  value: unknown,
  human: () => string,
): void {
  if (json) printJson(io, value)
  else io.stdout.write(human())
}

/** `--json`: the array as is (`[]` when empty); else a table, or `No <things>.` */
export function printList<T>(
  io: CliIo,
  json: boolean | undefined,
  rows: readonly T[],
  columns: readonly Column<T>[],
  things: string,
): void {
  printResult(io, json, rows, () =>
    rows.length > 0 ? renderTable(rows, columns) : `No ${things}.\n`,
  )
}
