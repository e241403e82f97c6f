import { isValidFilter } from '../domain/topic-filter.js'

/**
 * An MQTT filter with named wildcards (`devices/+deviceId/telemetry/+metric`, `logs/#rest`): the
 * filter aedes would see plus where each name sits.
 */
export interface TopicPattern {
  /** The pattern as written. */
  source: string
  /** The plain MQTT filter (`devices/+/telemetry/+`). */
  filter: string
  levels: PatternLevel[]
}

export type PatternLevel =
  | { kind: 'literal'; value: string }
  | { kind: 'one'; name: string | undefined }
  | { kind: 'rest'; name: string | undefined }

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Parses a pattern; returns it or a sentence saying what is wrong. */
export function parseTopicPattern(source: string): TopicPattern | string {
  const levels: PatternLevel[] = []
  for (const level of source.split('/')) {
    if (level.startsWith('+') || level.startsWith('#')) {
      const name = level.slice(1)
      if (name !== '' && !NAME.test(name))
        return `"${level}": wildcard names are letters, digits and _`
      levels.push({ kind: level.startsWith('+') ? 'one' : 'rest', name: name || undefined })
    } else {
      levels.push({ kind: 'literal', value: level })
    }
  }
  const filter = levels
    .map((l) => (l.kind === 'literal' ? l.value : l.kind === 'one' ? '+' : '#'))
    .join('/')
  if (!isValidFilter(filter))
    return `"${source}" is not a valid MQTT filter ('#' only last, wildcards alone in their level)`
  const names = levels.flatMap((l) => (l.kind !== 'literal' && l.name ? [l.name] : []))
  const duplicate = names.find((name, i) => names.indexOf(name) !== i)
  if (duplicate) return `"${source}" names the wildcard ${duplicate} twice`
  return { source, filter, levels }
}

export function captureNames(pattern: TopicPattern): string[] {
  return pattern.levels.flatMap((l) => (l.kind !== 'literal' && l.name ? [l.name] : []))
}

/** The named captures of a topic the pattern's filter already matched (`#name` joins with `/`). */
export function captures(pattern: TopicPattern, topic: string): Record<string, string> {
  const parts = topic.split('/')
  const result: Record<string, string> = {}
  pattern.levels.forEach((level, i) => {
    if (level.kind === 'one' && level.name) result[level.name] = parts[i] ?? ''
    if (level.kind === 'rest' && level.name) result[level.name] = parts.slice(i).join('/')
  })
  return result
}
