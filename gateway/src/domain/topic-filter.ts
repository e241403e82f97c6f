/**
 * MQTT topic and filter rules (MQTT 3.1.1 §4.7). Pure functions: the ACL and the bridge use them.
 */

/** [MQTT-4.7.1-2], [MQTT-4.7.1-3]: `#` only last and alone in its level, `+` alone in its level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false
  const levels = filter.split('/')
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1
    if (level.includes('+')) return level === '+'
    return true
  })
}

/** A topic name has no wildcards [MQTT-3.3.2-2] and no U+0000 [MQTT-4.7.3-2]. */
export function isValidTopicName(topic: string): boolean {
  return (
    topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000')
  )
}

/** One non-empty topic level: no separator, no wildcard, no U+0000 [MQTT-4.7.1-1, 4.7.3-2]. */
export function isTopicLevel(value: string): boolean {
  return value.length > 0 && !value.includes('/') && isValidTopicName(value)
}

/**
 * Whether `filter` matches `topic`. `+` matches one level (empty included), `#` the rest and the
 * parent level [MQTT-4.7.1-2]; wildcards at the first level do not match `$` topics [MQTT-4.7.2-1].
 */
export function filterMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

/** A compiled `filterMatches(filter, ·)`. */
export type TopicMatcher = (topic: string) => boolean

/**
 * `filterMatches` for one filter, compiled once (an ACL at CONNECT) for the per-packet check. The
 * common shapes skip splitting the topic: a literal is an equality, `a/b/#` a prefix test.
 */
export function compileFilter(filter: string): TopicMatcher {
  if (filter === '#') return (topic) => !topic.startsWith('$')
  const wildcard = filter.includes('+') || filter.includes('#')
  if (!wildcard) return (topic) => topic === filter
  if (filter.endsWith('/#') && !filter.slice(0, -2).includes('+') && !filter.startsWith('#')) {
    // `a/b/#` matches `a/b` itself and everything below it [MQTT-4.7.1-2].
    const parent = filter.slice(0, -2)
    const below = filter.slice(0, -1)
    return (topic) => topic === parent || topic.startsWith(below)
  }
  return (topic) => filterMatches(filter, topic)
}

/** Number of levels of a topic or filter (`a/b` has 2, `a/` has 2, `` has 1). */
export function levelCount(topic: string): number {
  let levels = 1
  for (let at = topic.indexOf('/'); at !== -1; at = topic.indexOf('/', at + 1)) levels++
  return levels
}

/**
 * Whether every topic `inner` can match is also matched by `outer`: the test for granting a
 * subscription inside an ACL filter.
 */
export function filterCovers(outer: string, inner: string): boolean {
  // A first-level wildcard never reaches `$` topics, so it cannot cover a `$` filter [MQTT-4.7.2-1].
  if (inner.startsWith('$') && (outer.startsWith('+') || outer.startsWith('#'))) return false
  const o = outer.split('/')
  const n = inner.split('/')
  for (let i = 0; i < o.length; i++) {
    const level = o[i]
    if (level === '#') return true
    if (i >= n.length) return false
    const innerLevel = n[i]
    if (innerLevel === '#') return false
    if (level === '+') continue
    if (innerLevel === '+' || innerLevel !== level) return false
  }
  return o.length === n.length
}
