/**
 * How tags and ACL filter lists fit in one CSV cell. The compact forms are what people type in a
 * spreadsheet (`site=lab;floor=2`, `devices/+/x;alerts/#`); a cell starting with `{` or `[` is
 * JSON instead, which export writes only when the compact form could not hold the value.
 */

import { quote } from './bulk-columns.js'

type Parsed<T> = { value: T } | { reason: string }

const SEPARATOR = ';'

function parseJsonCell(cell: string): Parsed<unknown> {
  try {
    return { value: JSON.parse(cell) }
  } catch (error) {
    return { reason: `is not valid JSON: ${(error as Error).message}` }
  }
}

function segments(cell: string): string[] {
  return cell.split(SEPARATOR).filter((segment) => segment !== '')
}

function tagsFromObject(value: unknown): Parsed<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reason: 'must be key=value pairs separated by ";" or a JSON object' }
  }
  const entries = Object.entries(value)
  const bad = entries.find(([, tag]) => typeof tag !== 'string')
  if (bad) return { reason: `tag ${quote(bad[0])} must have a text value` }
  return { value: Object.fromEntries(entries) as Record<string, string> }
}

/** `key=value;key2=value2` (the first `=` of each pair splits it), a JSON object, or an object. */
export function parseTags(value: unknown): Parsed<Record<string, string>> {
  if (typeof value !== 'string') return tagsFromObject(value)
  if (value.trimStart().startsWith('{')) {
    const json = parseJsonCell(value)
    return 'reason' in json ? json : tagsFromObject(json.value)
  }
  // A Map, not an object: keys such as `toString` or `__proto__` are tags like any other.
  const tags = new Map<string, string>()
  for (const pair of segments(value)) {
    const at = pair.indexOf('=')
    if (at <= 0) return { reason: `${quote(pair)} is not key=value` }
    const key = pair.slice(0, at)
    if (tags.has(key)) return { reason: `tag ${quote(key)} appears twice` }
    tags.set(key, pair.slice(at + 1))
  }
  return { value: Object.fromEntries(tags) }
}

function filtersFromArray(value: unknown): Parsed<string[]> {
  if (!Array.isArray(value) || value.some((filter) => typeof filter !== 'string')) {
    return { reason: 'must be MQTT filters separated by ";" or a JSON array of strings' }
  }
  return { value: value as string[] }
}

/** `filter;filter2`, a JSON array of strings, or an array. `[]` is an empty list. */
export function parseFilterList(value: unknown): Parsed<string[]> {
  if (typeof value !== 'string') return filtersFromArray(value)
  if (value.trimStart().startsWith('[')) {
    const json = parseJsonCell(value)
    return 'reason' in json ? json : filtersFromArray(json.value)
  }
  return { value: segments(value) }
}

/** The compact form when it reads back as the same tags, else JSON. */
export function formatTags(tags: Record<string, string>): string {
  const entries = Object.entries(tags)
  const compact = entries.every(
    ([key, value]) => !key.includes(SEPARATOR) && !key.includes('=') && !value.includes(SEPARATOR),
  )
  if (!compact || entries[0]?.[0].trimStart().startsWith('{')) return JSON.stringify(tags)
  return entries.map(([key, value]) => `${key}=${value}`).join(SEPARATOR)
}

/** The compact form when it reads back as the same list, else JSON (always for an empty list). */
export function formatFilterList(filters: readonly string[]): string {
  const compact =
    filters.length > 0 &&
    filters.every((filter) => filter !== '' && !filter.includes(SEPARATOR)) &&
    !filters[0]?.trimStart().startsWith('[')
  return compact ? filters.join(SEPARATOR) : JSON.stringify(filters)
}
