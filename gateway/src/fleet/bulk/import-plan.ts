import type { Device } from '../../domain/device.js'
import type { DeviceChanges } from '../../store/device-repository.js'
import type { ImportColumn } from './bulk-columns.js'
import type { ImportRow } from './validate-row.js'

/** What importing one valid row does to the store. */
export type RowPlan =
  | { kind: 'create'; appId: string }
  | { kind: 'update'; appId: string; changes: DeviceChanges; endsSessions: boolean }
  | { kind: 'unchanged'; appId: string }
  | { kind: 'refused'; field: ImportColumn; reason: string }

/** The apps an import may touch, and the app a row means when it names none. */
export interface AppContext {
  appIds: ReadonlySet<string>
  /** `--app`: rows naming no app go here, rows naming another app are refused. */
  importApp: string | undefined
  /** An app-scoped admin token's app; null for every app. */
  scope: string | null
  /** The only app there is, for rows that name none when no `--app` is given. */
  onlyApp: string | undefined
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const sorted = (tags: Record<string, string>) => JSON.stringify(Object.entries(tags).sort())
  return sorted(a) === sorted(b)
}

function rowApp(row: ImportRow, existing: Device | undefined, apps: AppContext): RowPlan {
  if (row.app !== undefined && apps.importApp !== undefined && row.app !== apps.importApp) {
    return {
      kind: 'refused',
      field: 'app',
      reason: `names app "${row.app}", but the import is for app "${apps.importApp}"`,
    }
  }
  const appId = row.app ?? apps.importApp ?? existing?.appId ?? apps.scope ?? apps.onlyApp
  if (appId === undefined) {
    return {
      kind: 'refused',
      field: 'app',
      reason: 'is empty and several apps exist: fill the app column or pass --app',
    }
  }
  if (apps.scope !== null && appId !== apps.scope) {
    return { kind: 'refused', field: 'app', reason: `"${appId}" is outside this token's app` }
  }
  if (!apps.appIds.has(appId)) {
    return { kind: 'refused', field: 'app', reason: `"${appId}" does not exist` }
  }
  if (existing && existing.appId !== appId) {
    return {
      kind: 'refused',
      field: 'app',
      reason: `is "${appId}", but the device belongs to app "${existing.appId}"`,
    }
  }
  return { kind: 'create', appId }
}

/**
 * Decides what a valid row does given the device stored under its id (if any). Only fields the
 * file sets are compared, so importing the same file twice leaves every row unchanged.
 */
export function planRow(row: ImportRow, existing: Device | undefined, apps: AppContext): RowPlan {
  const app = rowApp(row, existing, apps)
  if (app.kind !== 'create' || !existing) return app
  const changes: DeviceChanges = {}
  if (row.name !== undefined && row.name !== existing.name) changes.name = row.name
  if (row.tags !== undefined && !sameTags(row.tags, existing.tags)) changes.tags = row.tags
  const aclChanged =
    row.acl !== undefined && JSON.stringify(row.acl) !== JSON.stringify(existing.acl)
  if (aclChanged) changes.acl = row.acl
  const enabledChanged = row.enabled !== undefined && row.enabled !== existing.enabled
  if (enabledChanged) changes.enabled = row.enabled
  if (Object.keys(changes).length === 0) return { kind: 'unchanged', appId: app.appId }
  return { kind: 'update', appId: app.appId, changes, endsSessions: aclChanged || enabledChanged }
}
