/**
 * Topic-filter helpers for the persistence's lookups. Matching itself is
 * `filterMatches` (domain/topic-filter.ts): `+` matches one level, an empty one included
 * [MQTT-4.7.1-3]; `#` the rest and the parent level [MQTT-4.7.1-2]; a filter starting with a
 * wildcard does not match a `$` topic [MQTT-4.7.2-1].
 */

/** False when `filter` starts with a wildcard and `topic` with `$` [MQTT-4.7.2-1]. */
export function wildcardMaySee(filter: string, topic: string): boolean {
  if (!topic.startsWith('$')) return true
  return !(filter.startsWith('+') || filter.startsWith('#'))
}

/**
 * Which stored topics can match `filter`, as index lookups: one exact topic when the filter has
 * no wildcard; otherwise the topics under the literal levels before its first wildcard (a key
 * range), plus, when that wildcard is `#`, the parent topic itself (`a/#` matches `a`).
 * An empty prefix means every topic. Candidates still go through `filterMatches`.
 */
export type RetainedLookup =
  | { kind: 'exact'; topic: string }
  | { kind: 'range'; prefix: string; parent: string | undefined }

export function retainedLookup(filter: string): RetainedLookup {
  const levels = filter.split('/')
  const first = levels.findIndex((level) => level === '+' || level === '#')
  if (first === -1) return { kind: 'exact', topic: filter }
  if (first === 0) return { kind: 'range', prefix: '', parent: undefined }
  const literal = levels.slice(0, first).join('/')
  return {
    kind: 'range',
    prefix: `${literal}/`,
    parent: levels[first] === '#' ? literal : undefined,
  }
}

/**
 * The exclusive upper bound of the key range of topics starting with `prefix`. A non-empty prefix
 * always ends with `/` (0x2F), so the bound is the same prefix ending with `0` (0x30): one code
 * unit higher in SQLite's byte order and in JavaScript's alike.
 */
export function prefixUpperBound(prefix: string): string {
  return `${prefix.slice(0, -1)}0`
}
