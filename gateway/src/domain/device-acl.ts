import { compileFilter, filterCovers, isValidFilter, type TopicMatcher } from './topic-filter.js'

/** Per-device ACL as stored: MQTT filters where `${deviceId}` stands for the device's id. */
export interface DeviceAcl {
  publish: string[]
  subscribe: string[]
}

/** Stands for the device's own id in stored ACL filters (a literal, not a JS template). */
const PLACEHOLDER = '$' + '{deviceId}'

/** ARCHITECTURE.md default topic contract. */
export const DEFAULT_ACL: DeviceAcl = {
  publish: [`devices/${PLACEHOLDER}/#`],
  subscribe: [`devices/${PLACEHOLDER}/commands/#`],
}

/** The ACL with placeholders filled in and its filters compiled, ready for per-packet checks. */
export interface CompiledAcl {
  publish: readonly string[]
  subscribe: readonly string[]
  /** Some publish filter matches the topic. */
  publishMatches: TopicMatcher
  /** Some subscribe filter matches the topic. */
  subscribeMatches: TopicMatcher
}

function anyOf(filters: readonly string[]): TopicMatcher {
  const matchers = filters.map(compileFilter)
  const [only] = matchers
  if (matchers.length === 1 && only) return only
  return (topic) => matchers.some((matches) => matches(topic))
}

/** An ACL of filters with no placeholders left. */
export function aclOf(publish: readonly string[], subscribe: readonly string[]): CompiledAcl {
  return { publish, subscribe, publishMatches: anyOf(publish), subscribeMatches: anyOf(subscribe) }
}

/** Allows everything (anonymous development mode) except writing `$` topics. */
export const OPEN_ACL: CompiledAcl = aclOf(['#'], ['#'])

export function compileAcl(acl: DeviceAcl, deviceId: string): CompiledAcl {
  const fill = (filter: string) => filter.split(PLACEHOLDER).join(deviceId)
  return aclOf(acl.publish.map(fill), acl.subscribe.map(fill))
}

/** `$` topics belong to the broker: no client publishes there [MQTT-4.7.2-1 spirit, aedes #597]. */
export function canPublish(acl: CompiledAcl, topic: string): boolean {
  return !topic.startsWith('$') && acl.publishMatches(topic)
}

/** A subscription is granted only when an ACL filter covers every topic it could receive. */
export function canSubscribe(acl: CompiledAcl, filter: string): boolean {
  return acl.subscribe.some((allowed) => filterCovers(allowed, filter))
}

/**
 * Whether the device may receive a message on `topic`: some subscribe filter of its ACL matches
 * it. Checked per delivery, because a persistent session may hold a filter the ACL no longer
 * grants (aedes stores every filter of a SUBACK with mixed results, and replays sessions).
 */
export function canReceive(acl: CompiledAcl, topic: string): boolean {
  return acl.subscribeMatches(topic)
}

/** Problems with an ACL as an operator wrote it, one sentence each. */
export function aclProblems(acl: DeviceAcl): string[] {
  const problems: string[] = []
  for (const [kind, filters] of [
    ['publish', acl.publish],
    ['subscribe', acl.subscribe],
  ] as const) {
    filters.forEach((filter, i) => {
      const probe = filter.split(PLACEHOLDER).join('x')
      if (!isValidFilter(probe))
        problems.push(`acl.${kind}[${i}]: "${filter}" is not a valid MQTT filter`)
    })
  }
  return problems
}
