import { stringify } from 'csv-stringify/sync'
import type { Device } from '../../domain/device.js'
import type { Store } from '../../store/open-store.js'
import { type BulkFormat, EXPORT_COLUMNS } from './bulk-columns.js'
import { formatFilterList, formatTags } from './cell-forms.js'

/** Devices read from the store per page, so an export of any size holds one page at a time. */
const PAGE_SIZE = 1000

export interface ExportFilter {
  appId?: string | undefined
  /** Devices holding every one of these tags. */
  tags?: Record<string, string> | undefined
}

/** A device as an export row: the import columns without `secret`. */
export interface ExportRecord {
  id: string
  app: string
  name: string | null
  tags: Record<string, string>
  /** null (both sides): the default topic contract. */
  acl_publish: string[] | null
  acl_subscribe: string[] | null
  enabled: boolean
}

function toRecord(device: Device): ExportRecord {
  return {
    id: device.id,
    app: device.appId,
    name: device.name,
    tags: device.tags,
    acl_publish: device.acl?.publish ?? null,
    acl_subscribe: device.acl?.subscribe ?? null,
    enabled: device.enabled,
  }
}

function toCells(record: ExportRecord): string[] {
  return [
    record.id,
    record.app,
    record.name ?? '',
    formatTags(record.tags),
    record.acl_publish === null ? '' : formatFilterList(record.acl_publish),
    record.acl_subscribe === null ? '' : formatFilterList(record.acl_subscribe),
    String(record.enabled),
  ]
}

function* pages(store: Store, filter: ExportFilter): Generator<Device[]> {
  let after: string | undefined
  for (;;) {
    const page = store.devices.list({
      appId: filter.appId,
      tags: filter.tags,
      after,
      limit: PAGE_SIZE,
    })
    if (page.length === 0) return
    yield page
    after = page[page.length - 1]?.id
  }
}

/**
 * The export file in pieces, by device id: CSV with a header row, or one JSON array of objects
 * keyed like the CSV columns. Either imports back unchanged. Never a secret or a hash.
 */
export function* exportDevices(
  store: Store,
  format: BulkFormat,
  filter: ExportFilter = {},
): Generator<string> {
  if (format === 'csv') {
    yield stringify([[...EXPORT_COLUMNS]])
    for (const page of pages(store, filter)) yield stringify(page.map((d) => toCells(toRecord(d))))
    return
  }
  let first = true
  yield '['
  for (const page of pages(store, filter)) {
    const items = page.map((device) => {
      const separator = first ? '\n' : ',\n'
      first = false
      return `${separator}${JSON.stringify(toRecord(device))}`
    })
    yield items.join('')
  }
  yield first ? ']\n' : '\n]\n'
}
