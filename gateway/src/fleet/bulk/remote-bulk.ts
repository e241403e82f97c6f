import { AdminClient, type AdminTarget } from '../admin-client.js'
import type { BulkFormat } from './bulk-columns.js'
import type { ExportFilter } from './export-devices.js'
import type { IssuedSecret } from './import-devices.js'
import type { ImportReport } from './import-report.js'

/** An import's answer over the admin API: the report, and the generated secrets once. */
export type ImportAnswer = ImportReport & { secrets?: IssuedSecret[] }

export interface RemoteImport {
  format: BulkFormat
  appId?: string | undefined
  dryRun: boolean
  generateSecrets: boolean
}

/** A large import takes a while on a Pi; the CLI waits this long for the answer. */
const TIMEOUT_MS = 10 * 60_000

const CONTENT_TYPES: Record<BulkFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
}

/** `POST /admin/v1/devices/import` with the file as the body. */
export async function importRemotely(
  target: AdminTarget,
  file: Buffer,
  request: RemoteImport,
): Promise<ImportAnswer> {
  return new AdminClient(target).json<ImportAnswer>('devices/import', {
    method: 'POST',
    query: [
      ['format', request.format],
      ['dryRun', request.dryRun],
      ['generateSecrets', request.generateSecrets],
      ['app', request.appId],
    ],
    raw: { bytes: file, contentType: CONTENT_TYPES[request.format] },
    timeoutMs: TIMEOUT_MS,
  })
}

/** `GET /admin/v1/devices/export`: the whole file, as the local export writes it. */
export function exportRemotely(
  target: AdminTarget,
  format: BulkFormat,
  filter: ExportFilter,
): Promise<string> {
  return new AdminClient(target).text('devices/export', {
    query: [
      ['format', format],
      ['app', filter.appId],
      ...Object.entries(filter.tags ?? {}).map(([k, v]): [string, string] => ['tag', `${k}=${v}`]),
    ],
    timeoutMs: TIMEOUT_MS,
  })
}
