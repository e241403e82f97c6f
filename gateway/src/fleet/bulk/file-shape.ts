import { GatewayError } from '../../errors/gateway-error.js'
import { IMPORT_COLUMNS, isImportColumn, quote } from './bulk-columns.js'

/** Refuses the whole file before anything is written. */
export function refuseFile(message: string): never {
  throw new GatewayError('FC_ERR_IMPORT_FORMAT', message)
}

/**
 * One sentence per unknown column name (a CSV header cell, a JSON object key). Unknown names are
 * refused rather than ignored: a misspelt column would otherwise import as if it were empty.
 */
export function unknownColumnProblems(names: Iterable<string>, where: string): string[] {
  return [...new Set(names)]
    .filter((name) => !isImportColumn(name))
    .map(
      (name) =>
        `${where}: unknown column ${quote(name)} (the columns are ${IMPORT_COLUMNS.join(', ')})`,
    )
}
