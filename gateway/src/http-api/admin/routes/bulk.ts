import { z } from 'zod'
import { GatewayError } from '../../../errors/gateway-error.js'
import { BULK_FORMATS } from '../../../fleet/bulk/bulk-columns.js'
import { exportDevices } from '../../../fleet/bulk/export-devices.js'
import {
  type IssuedSecret,
  importDevices,
  MAX_IMPORT_BYTES,
  type SecretsSink,
} from '../../../fleet/bulk/import-devices.js'
import { booleanValue, ok, oneValue, repeatedValues, route } from '../admin-route.js'

const format = z.enum(BULK_FORMATS, { error: 'expected csv or json' })

const importQuery = z.strictObject({
  format: format.default('csv'),
  app: oneValue.optional(),
  dryRun: booleanValue().optional(),
  generateSecrets: booleanValue().optional(),
})

const exportQuery = z.strictObject({
  format: format.default('csv'),
  app: oneValue.optional(),
  tag: repeatedValues(z.string().regex(/^[^=]+=/, 'expected key=value')).optional(),
})

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', json: 'application/json' } as const

/** Generated secrets travel back in the answer, once; the caller keeps them. */
class AnswerSecrets implements SecretsSink {
  readonly issued: IssuedSecret[] = []
  open(): void {}
  write(secrets: readonly IssuedSecret[]): void {
    this.issued.push(...secrets)
  }
}

/** Bulk import and export of devices (docs/import-export.md). */
export const bulkRoutes = [
  route({
    method: 'POST',
    path: '/devices/import',
    summary:
      'Import devices from the CSV or JSON body, idempotently on id; answers the row-by-row report',
    query: importQuery,
    handle: async (call, { query }) => {
      const secrets = query.generateSecrets ? new AnswerSecrets() : undefined
      const report = await importDevices(call.store, await call.rawBody(MAX_IMPORT_BYTES), {
        format: query.format,
        appId: query.app,
        dryRun: query.dryRun,
        secrets,
        actor: call.actor,
        appScope: call.token.appId,
        // One call per batch: the gateway's callback re-checks every device changed since its
        // last check, so a call per device would make a large import quadratic.
        onDevicesChanged: ([first]) => call.onDeviceChanged(first ?? ''),
      })
      return ok(secrets && !report.dryRun ? { ...report, secrets: secrets.issued } : report)
    },
  }),
  route({
    method: 'GET',
    path: '/devices/export',
    summary: 'Export devices as CSV or JSON, without secrets',
    query: exportQuery,
    handle: async ({ store, token }, { query }) => {
      if (token.appId !== null && query.app !== undefined && query.app !== token.appId) {
        throw new GatewayError('FC_ERR_FORBIDDEN', `This token may not export app "${query.app}"`)
      }
      const tags = (query.tag ?? []).map((pair): [string, string] => {
        const at = pair.indexOf('=')
        return [pair.slice(0, at), pair.slice(at + 1)]
      })
      const filter = {
        appId: query.app ?? token.appId ?? undefined,
        tags: Object.fromEntries(tags),
      }
      return {
        status: 200,
        contentType: CONTENT_TYPES[query.format],
        body: [...exportDevices(store, query.format, filter)].join(''),
      }
    },
  }),
]
