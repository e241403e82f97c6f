import { setImmediate as nextTurn } from 'node:timers/promises'
import { hashChosenSecret, issueSecret } from '../../auth/secret-hash.js'
import { GatewayError } from '../../errors/gateway-error.js'
import type { Store } from '../../store/open-store.js'
import {
  type BulkFormat,
  placeNumber,
  placeOf,
  type ReadRows,
  type RowPlace,
  type RowProblem,
} from './bulk-columns.js'
import { type AppContext, planRow, type RowPlan } from './import-plan.js'
import { countBadRows, type ImportReport, inFileOrder } from './import-report.js'
import { readCsv } from './read-csv.js'
import { readJson } from './read-json.js'
import { type ImportRow, validateRow } from './validate-row.js'

/** Larger files are refused (split them): the whole file is validated in memory before writing. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024

/** Rows per transaction: large enough to be fast, small enough not to stall a running gateway. */
export const IMPORT_BATCH_SIZE = 2000

export interface IssuedSecret {
  id: string
  secret: string
}

/** Where generated secrets go: a file the operator named, or an admin API answer. */
export interface SecretsSink {
  /** Called once after the file validated and before anything is written. */
  open(): void
  /** Called inside each batch's transaction, before it commits; a throw rolls the batch back. */
  write(secrets: readonly IssuedSecret[]): void
}

export interface ImportOptions {
  format: BulkFormat
  /** Rows naming no app go to this app; rows naming another app are refused. */
  appId?: string | undefined
  /** Validate and report what would happen; write nothing. */
  dryRun?: boolean | undefined
  /** Generate secrets for new devices without a `secret` cell. Without it they are refused. */
  secrets?: SecretsSink | undefined
  /** Recorded as the audit actor: `cli`, `token:<id>`. */
  actor: string
  /** An app-scoped admin token's app; null for every app. */
  appScope: string | null
  onProgress?: ((done: number, total: number) => void) | undefined
  /** Told, before writing, how many new devices come with a secret to hash (scrypt is slow). */
  onChosenSecrets?: ((count: number) => void) | undefined
  /**
   * Called once per committed batch in which devices were disabled or had their ACL changed, so
   * their live sessions end at once.
   */
  onDevicesChanged?: ((ids: readonly string[]) => void) | undefined
}

type WritableRow = { row: ImportRow; plan: Exclude<RowPlan, { kind: 'refused' }> }

interface Analysis {
  read: ReadRows
  problems: RowProblem[]
  writable: WritableRow[]
  apps: AppContext
}

function problem(row: ImportRow, field: RowProblem['field'], reason: string): RowProblem {
  return { ...row.place, id: row.id, field, reason }
}

/**
 * Every row whose id appears on another row too, valid or not: which of them the operator meant
 * cannot be told, so none is imported.
 */
function duplicateProblems(rows: readonly { id: string | null; place: RowPlace }[]): RowProblem[] {
  const byId = new Map<string, Map<number, RowPlace>>()
  for (const { id, place } of rows) {
    if (id === null) continue
    const places = byId.get(id) ?? new Map<number, RowPlace>()
    places.set(placeNumber(place), place)
    byId.set(id, places)
  }
  return [...byId].flatMap(([id, places]) => {
    if (places.size < 2) return []
    const numbers = [...places.keys()]
    const listed = `${numbers.slice(0, 5).join(', ')}${numbers.length > 5 ? ', ...' : ''}`
    return [...places.values()].map((place) => ({
      ...place,
      id,
      field: 'id' as const,
      reason: `appears more than once (${'line' in place ? 'lines' : 'indexes'} ${listed}); none of these rows is imported`,
    }))
  })
}

function appContext(store: Store, options: ImportOptions): AppContext {
  const apps = store.apps.list()
  const importApp = options.appId
  if (importApp !== undefined && !apps.some((app) => app.id === importApp)) {
    throw new GatewayError('FC_ERR_APP_NOT_FOUND', `App "${importApp}" does not exist`)
  }
  if (importApp !== undefined && options.appScope !== null && importApp !== options.appScope) {
    throw new GatewayError('FC_ERR_FORBIDDEN', `This token may not import into app "${importApp}"`)
  }
  const [only] = apps
  return {
    appIds: new Set(apps.map((app) => app.id)),
    importApp,
    scope: options.appScope,
    onlyApp: apps.length === 1 ? only?.id : undefined,
  }
}

/** Reads, validates and plans every row against the store as it is now; writes nothing. */
function analyse(store: Store, bytes: Buffer, options: ImportOptions): Analysis {
  const read = options.format === 'csv' ? readCsv(bytes) : readJson(bytes)
  const problems = [...read.problems]
  const valid: ImportRow[] = []
  for (const raw of read.rows) {
    const checked = validateRow(raw)
    if (Array.isArray(checked)) problems.push(...checked)
    else valid.push(checked)
  }
  const duplicates = duplicateProblems([
    ...valid,
    ...problems.map((bad) => ({ id: bad.id, place: placeOf(bad) })),
  ])
  problems.push(...duplicates)
  const duplicated = new Set(duplicates.map(({ id }) => id))
  const apps = appContext(store, options)
  const writable: WritableRow[] = []
  const needSecret: ImportRow[] = []
  for (const row of valid) {
    if (duplicated.has(row.id)) continue
    const plan = planRow(row, store.devices.find(row.id), apps)
    if (plan.kind === 'refused') problems.push(problem(row, plan.field, plan.reason))
    else if (plan.kind === 'create' && row.secret === undefined && !options.secrets) {
      needSecret.push(row)
    } else writable.push({ row, plan })
  }
  if (needSecret.length > 0 && !read.columns.includes('secret')) {
    throw new GatewayError(
      'FC_ERR_IMPORT_SECRETS',
      `${needSecret.length} row(s) would create new devices (the first: "${needSecret[0]?.id}"), which need secrets: pass --secrets-out FILE to have them generated and written there (admin API: generateSecrets=true), or add a secret column`,
    )
  }
  for (const row of needSecret) {
    problems.push(
      problem(
        row,
        'secret',
        'is empty: a new device needs one here, or --secrets-out FILE to generate one',
      ),
    )
  }
  return { read, problems, writable, apps }
}

interface BatchTally {
  created: number
  updated: number
  unchanged: number
  problems: RowProblem[]
  endedSessions: string[]
}

/** Hashes chosen secrets first (scrypt is async and slow), then writes the batch in one transaction. */
async function writeBatch(
  store: Store,
  batch: readonly WritableRow[],
  apps: AppContext,
  secrets: SecretsSink | undefined,
): Promise<BatchTally> {
  const chosen = new Map<string, string>()
  await Promise.all(
    batch.map(async ({ row, plan }) => {
      if (plan.kind === 'create' && row.secret !== undefined) {
        chosen.set(row.id, await hashChosenSecret(row.secret))
      }
    }),
  )
  return store.db.transaction(() => {
    const tally: BatchTally = {
      created: 0,
      updated: 0,
      unchanged: 0,
      problems: [],
      endedSessions: [],
    }
    const issued: IssuedSecret[] = []
    for (const { row } of batch) {
      // Planned again inside the transaction: another writer may have changed the device since.
      const plan = planRow(row, store.devices.find(row.id), apps)
      if (plan.kind === 'refused') tally.problems.push(problem(row, plan.field, plan.reason))
      else if (plan.kind === 'unchanged') tally.unchanged += 1
      else if (plan.kind === 'update') {
        store.devices.update(row.id, plan.changes)
        tally.updated += 1
        if (plan.endsSessions) tally.endedSessions.push(row.id)
      } else {
        let secretHash = chosen.get(row.id)
        if (secretHash === undefined && (row.secret !== undefined || !secrets)) {
          tally.problems.push(problem(row, 'id', 'was removed while importing; import again'))
          continue
        }
        if (secretHash === undefined) {
          const fresh = issueSecret()
          secretHash = fresh.hash
          issued.push({ id: row.id, secret: fresh.secret })
        }
        store.devices.add({
          id: row.id,
          appId: plan.appId,
          name: row.name ?? undefined,
          tags: row.tags,
          acl: row.acl ?? undefined,
          enabled: row.enabled,
          secretHash,
        })
        tally.created += 1
      }
    }
    if (issued.length > 0) secrets?.write(issued)
    return tally
  })()
}

async function runImport(
  store: Store,
  bytes: Buffer,
  options: ImportOptions,
): Promise<ImportReport> {
  const { read, problems, writable, apps } = analyse(store, bytes, options)
  const report: ImportReport = {
    format: options.format,
    dryRun: options.dryRun === true,
    rows: read.rows.length + read.problems.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    invalid: 0,
    problems,
  }
  if (options.dryRun) {
    for (const { plan } of writable) {
      if (plan.kind === 'create') report.created += 1
      else if (plan.kind === 'update') report.updated += 1
      else report.unchanged += 1
    }
  } else {
    const chosen = writable.filter(({ row, plan }) => plan.kind === 'create' && row.secret)
    if (chosen.length > 0) options.onChosenSecrets?.(chosen.length)
    options.secrets?.open()
    for (let start = 0; start < writable.length; start += IMPORT_BATCH_SIZE) {
      const tally = await writeBatch(
        store,
        writable.slice(start, start + IMPORT_BATCH_SIZE),
        apps,
        options.secrets,
      )
      report.created += tally.created
      report.updated += tally.updated
      report.unchanged += tally.unchanged
      report.problems.push(...tally.problems)
      if (tally.endedSessions.length > 0) options.onDevicesChanged?.(tally.endedSessions)
      options.onProgress?.(Math.min(start + IMPORT_BATCH_SIZE, writable.length), writable.length)
      // A running gateway (admin API) and the progress bar get the event loop between batches.
      await nextTurn()
    }
  }
  report.problems = inFileOrder(report.problems)
  report.invalid = countBadRows(report.problems)
  return report
}

/**
 * Imports devices from a CSV or JSON file, idempotently on device id. A file that cannot be read
 * as a whole is refused before anything is written; otherwise every bad row is reported and the
 * good rows are written in transactions of IMPORT_BATCH_SIZE rows. One audit entry records it.
 */
export async function importDevices(
  store: Store,
  bytes: Buffer,
  options: ImportOptions,
): Promise<ImportReport> {
  const audit = (result: string, detail: Record<string, unknown>) => {
    // A dry run changes nothing, so there is nothing to account for.
    if (options.dryRun) return
    store.audit.record({
      actor: options.actor,
      action: 'device.import',
      appId: options.appId ?? options.appScope,
      result,
      detail: { format: options.format, ...detail },
    })
  }
  try {
    const report = await runImport(store, bytes, options)
    const { rows, created, updated, unchanged, invalid } = report
    audit('ok', { rows, created, updated, unchanged, invalid })
    return report
  } catch (error) {
    if (GatewayError.is(error)) audit(error.code, { error: error.message })
    throw error
  }
}
