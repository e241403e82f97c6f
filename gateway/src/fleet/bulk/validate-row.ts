import { aclProblems, DEFAULT_ACL, type DeviceAcl } from '../../domain/device-acl.js'
import {
  APP_ID_PATTERN,
  APP_ID_RULE,
  DEVICE_ID_PATTERN,
  DEVICE_ID_RULE,
} from '../../domain/names.js'
import { MAX_NAME_LENGTH, tagProblems, textProblems } from '../provision-device.js'
import {
  type ImportColumn,
  quote,
  type RawRow,
  type RowPlace,
  type RowProblem,
} from './bulk-columns.js'
import { parseFilterList, parseTags } from './cell-forms.js'

const MIN_SECRET_LENGTH = 8
const MAX_SECRET_LENGTH = 256

/**
 * A valid row. A field left undefined is one the file does not set (no such column, or no such
 * key in this JSON object): an existing device keeps its value, a new one gets the default.
 */
export interface ImportRow {
  place: RowPlace
  id: string
  /** The app the row names; undefined when it names none. */
  app: string | undefined
  name?: string | null
  tags?: Record<string, string>
  /** null: the default topic contract. */
  acl?: DeviceAcl | null
  enabled?: boolean
  /** An operator-chosen secret for a new device. */
  secret?: string
}

type Decoded<T> = { value: T } | { reason: string }

/** The report names the field, so a shared validator's message need not start with it. */
function reasonFor(field: string, messages: readonly string[]): string {
  return messages.map((message) => message.replace(new RegExp(`^${field}:? `), '')).join('; ')
}

const isBlank = (value: unknown) => value === undefined || value === null || value === ''

function text(value: unknown): Decoded<string> {
  return typeof value === 'string' ? { value } : { reason: `must be text, not ${typeof value}` }
}

function decodeId(value: unknown): Decoded<string> {
  if (isBlank(value)) return { reason: 'is missing' }
  const decoded = text(value)
  if ('reason' in decoded) return decoded
  if (!DEVICE_ID_PATTERN.test(decoded.value)) {
    return { reason: `${quote(decoded.value)} is not a device id: ${DEVICE_ID_RULE}` }
  }
  return decoded
}

function decodeApp(value: unknown): Decoded<string | undefined> {
  if (isBlank(value)) return { value: undefined }
  const decoded = text(value)
  if ('reason' in decoded) return decoded
  if (!APP_ID_PATTERN.test(decoded.value)) {
    return { reason: `${quote(decoded.value)} is not an app id: ${APP_ID_RULE}` }
  }
  return decoded
}

function decodeName(value: unknown): Decoded<string | null> {
  if (isBlank(value)) return { value: null }
  const decoded = text(value)
  if ('reason' in decoded) return decoded
  const problems = textProblems('name', decoded.value, MAX_NAME_LENGTH)
  return problems.length === 0 ? decoded : { reason: reasonFor('name', problems) }
}

function decodeTags(value: unknown): Decoded<Record<string, string>> {
  if (isBlank(value)) return { value: {} }
  const parsed = parseTags(value)
  if ('reason' in parsed) return parsed
  const problems = tagProblems(parsed.value)
  return problems.length === 0 ? parsed : { reason: reasonFor('tags', problems) }
}

/** An empty side of the ACL takes the default contract's filters for that side. */
function decodeAclSide(value: unknown, side: keyof DeviceAcl): Decoded<string[] | undefined> {
  if (isBlank(value)) return { value: undefined }
  const parsed = parseFilterList(value)
  if ('reason' in parsed) return parsed
  const acl = { publish: [], subscribe: [], [side]: parsed.value }
  const problems = aclProblems(acl)
  return problems.length === 0 ? parsed : { reason: problems.join('; ') }
}

const ENABLED_WORDS: Record<string, boolean> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  '1': true,
  '0': false,
}

function decodeEnabled(value: unknown): Decoded<boolean> {
  if (isBlank(value)) return { value: true }
  if (typeof value === 'boolean') return { value }
  const word = typeof value === 'string' ? ENABLED_WORDS[value.trim().toLowerCase()] : undefined
  return word === undefined
    ? { reason: `${JSON.stringify(value).slice(0, 40)} is not true or false` }
    : { value: word }
}

function decodeSecret(value: unknown): Decoded<string | undefined> {
  if (isBlank(value)) return { value: undefined }
  const decoded = text(value)
  if ('reason' in decoded) return decoded
  if (decoded.value.length < MIN_SECRET_LENGTH) {
    return { reason: `is shorter than ${MIN_SECRET_LENGTH} characters` }
  }
  const problems = textProblems('secret', decoded.value, MAX_SECRET_LENGTH)
  return problems.length === 0 ? decoded : { reason: reasonFor('secret', problems) }
}

/** The row as an ImportRow, or one problem per bad field. */
export function validateRow(raw: RawRow): ImportRow | RowProblem[] {
  const { place, values } = raw
  const has = (column: ImportColumn) => column in values
  const problems: RowProblem[] = []
  const idDecoded = decodeId(values.id)
  const id = 'value' in idDecoded ? idDecoded.value : null
  function field<T>(column: ImportColumn, decoded: Decoded<T>): T | undefined {
    if ('value' in decoded) return decoded.value
    problems.push({ ...place, id, field: column, reason: decoded.reason })
    return undefined
  }
  field('id', idDecoded)
  const row: ImportRow = { place, id: id ?? '', app: field('app', decodeApp(values.app)) }
  if (has('name')) row.name = field('name', decodeName(values.name))
  if (has('tags')) row.tags = field('tags', decodeTags(values.tags))
  if (has('enabled')) row.enabled = field('enabled', decodeEnabled(values.enabled))
  const secret = field('secret', decodeSecret(values.secret))
  if (secret !== undefined) row.secret = secret
  if (has('acl_publish') || has('acl_subscribe')) {
    const publish = field('acl_publish', decodeAclSide(values.acl_publish, 'publish'))
    const subscribe = field('acl_subscribe', decodeAclSide(values.acl_subscribe, 'subscribe'))
    row.acl =
      publish === undefined && subscribe === undefined
        ? null
        : {
            publish: publish ?? [...DEFAULT_ACL.publish],
            subscribe: subscribe ?? [...DEFAULT_ACL.subscribe],
          }
  }
  return problems.length > 0 ? problems : row
}
