import { createRequire } from 'node:module'
import { wildcardMaySee } from './topic-filter.js'
import type { TopicSubscription } from './types.js'

interface QlobberSubInstance {
  subscriptionsCount: number
  add(topic: string, value: TopicSubscription): void
  remove(topic: string, value: { clientId: string; topic: string }): void
  match(topic: string): TopicSubscription[]
  clear(): void
}

// qlobber ships no types and is CommonJS; `qlobber/aedes/qlobber-sub` is the module
// aedes-persistence itself loads.
const QlobberSub = createRequire(import.meta.url)('qlobber/aedes/qlobber-sub') as new (options: {
  separator: string
  wildcard_one: string
  wildcard_some: string
  match_empty_levels: boolean
}) => QlobberSubInstance

/**
 * The in-memory index that answers `subscriptionsByTopic`, rebuilt from `mqtt_subscriptions` at
 * setup and updated after each committed write.
 *
 * Why in memory and why qlobber: aedes asks it on every QoS 1/2 publish, and matching one topic
 * against every stored filter is a trie walk, not an SQL query (a filter is a pattern over the
 * topic, so no index on either column answers it). QlobberSub is the trie aedes-persistence's
 * memory persistence uses, and qlobber is the matcher inside aedes' own mqemitter, so offline
 * and online delivery agree on what matches and in which order. Like mqemitter in aedes we turn
 * on `match_empty_levels` [MQTT-4.7.1-3] (aedes-persistence leaves it off), and we drop the
 * `$`-topic matches of filters starting with a wildcard [MQTT-4.7.2-1], which qlobber does not
 * know about. Only QoS 1/2 subscriptions are indexed: QoS 0 ones queue nothing.
 */
export class SubscriptionIndex {
  readonly #trie = new QlobberSub({
    separator: '/',
    wildcard_one: '+',
    wildcard_some: '#',
    match_empty_levels: true,
  })

  /** Number of (client, filter) pairs indexed: `countOffline`'s subscription count. */
  get size(): number {
    return this.#trie.subscriptionsCount
  }

  add(subscription: TopicSubscription): void {
    this.#trie.add(subscription.topic, subscription)
  }

  remove(clientId: string, topic: string): void {
    this.#trie.remove(topic, { clientId, topic })
  }

  match(topic: string): TopicSubscription[] {
    const matches = this.#trie.match(topic)
    return topic.startsWith('$') ? matches.filter((s) => wildcardMaySee(s.topic, topic)) : matches
  }

  clear(): void {
    this.#trie.clear()
  }
}
