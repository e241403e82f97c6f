import type { TopicPattern } from './topic-pattern.js'

interface Node<T> {
  literal: Map<string, Node<T>>
  one: Node<T> | undefined
  /** Entries whose pattern ends with `#` here. */
  rest: Array<{ order: number; value: T }>
  /** Entries whose pattern ends exactly here. */
  end: Array<{ order: number; value: T }>
}

function node<T>(): Node<T> {
  return { literal: new Map(), one: undefined, rest: [], end: [] }
}

/**
 * A trie over topic levels: matching costs the topic's depth times the wildcard branches, not the
 * number of patterns. Results come back in insertion order (rule order).
 */
export class PatternIndex<T> {
  readonly #root: Node<T> = node()
  #count = 0

  add(pattern: TopicPattern, value: T): void {
    let at = this.#root
    const entry = { order: this.#count++, value }
    for (const level of pattern.levels) {
      if (level.kind === 'rest') {
        at.rest.push(entry)
        return
      }
      if (level.kind === 'one') {
        at.one ??= node()
        at = at.one
      } else {
        let next = at.literal.get(level.value)
        if (!next) {
          next = node()
          at.literal.set(level.value, next)
        }
        at = next
      }
    }
    at.end.push(entry)
  }

  /** Values whose patterns match `topic` [MQTT-4.7.1-2, 4.7.2-1], in insertion order. */
  match(topic: string): T[] {
    const levels = topic.split('/')
    const found: Array<{ order: number; value: T }> = []
    const dollar = topic.startsWith('$')
    const walk = (at: Node<T>, i: number) => {
      // `#` also matches the parent level; first-level wildcards never match `$` topics.
      if (!(dollar && i === 0)) found.push(...at.rest)
      if (i === levels.length) {
        found.push(...at.end)
        return
      }
      const literal = at.literal.get(levels[i] ?? '')
      if (literal) walk(literal, i + 1)
      if (at.one && !(dollar && i === 0)) walk(at.one, i + 1)
    }
    walk(this.#root, 0)
    return found.sort((a, b) => a.order - b.order).map((entry) => entry.value)
  }
}
