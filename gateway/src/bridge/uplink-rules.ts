import type { z } from 'zod'
import type { uplinkRuleSchema } from '../config/bridge-schema.js'
import {
  CHANNEL_NAME_PATTERN,
  isValidChannelName,
  MAX_CHANNEL_NAME_LENGTH,
} from '../domain/names.js'
import { PatternIndex } from './pattern-index.js'
import { type PayloadMode, payloadToEventData } from './payload.js'
import { parseTemplate, renderTemplate, type Template, templateNames } from './template.js'
import { captureNames, captures, parseTopicPattern, type TopicPattern } from './topic-pattern.js'

export type UplinkRuleConfig = z.output<typeof uplinkRuleSchema>

export interface UplinkRule {
  name: string
  pattern: TopicPattern
  channel: Template
  event: Template
  payload: PayloadMode
  wrap: boolean
  throttleMs: number
  continue: boolean
  /** The capture that must equal the publishing device's id, if any. */
  ownDevice: string | undefined
  /** Every name the channel and event templates use; none may render empty. */
  names: string[]
  /** Whether the templates use device fields (`device.id`, `device.tags.site`...). */
  usesDevice: boolean
}

/** The default topic contract (ARCHITECTURE.md) as a rule. */
export const DEFAULT_UPLINK: UplinkRuleConfig[] = [
  {
    name: 'device-events',
    match: 'devices/+deviceId/events/+event',
    channel: 'private-device-${deviceId}',
    event: '${event}',
    payload: 'auto',
    wrap: false,
    throttle: 0,
    continue: false,
  },
  {
    // A device's answer to a command (docs/bridge.md): the command id is the last topic level.
    name: 'command-acks',
    match: 'devices/+deviceId/acks/+commandId',
    channel: 'private-device-${deviceId}',
    event: 'command.ack',
    payload: 'auto',
    wrap: true,
    throttle: 0,
    continue: false,
  },
  {
    // Retained birth {"online":true,...} and will {"online":false} (docs/topics.md): on a cache
    // channel, so a dashboard that subscribes later gets the device's last status at once.
    name: 'device-status',
    match: 'devices/+deviceId/status',
    channel: 'private-cache-device-${deviceId}',
    event: 'status',
    payload: 'auto',
    wrap: false,
    throttle: 0,
    continue: false,
  },
]

const DEVICE_FIELDS = /^device\.(id|name|tags\..+)$/

export interface RuleProblem {
  path: Array<string | number>
  message: string
}

/** Compiles rules, collecting every problem with its config path; throws nothing. */
export function compileUplinkRules(configs: readonly UplinkRuleConfig[]): {
  rules: UplinkRule[]
  problems: RuleProblem[]
} {
  const problems: RuleProblem[] = []
  const rules: UplinkRule[] = []
  configs.forEach((config, i) => {
    const problem = (field: string, message: string) =>
      problems.push({ path: ['bridge', 'uplink', i, field], message })
    const pattern = parseTopicPattern(config.match)
    const channel = parseTemplate(config.channel)
    const event = parseTemplate(config.event)
    if (typeof pattern === 'string') problem('match', pattern)
    if (typeof channel === 'string') problem('channel', channel)
    if (typeof event === 'string') problem('event', event)
    if (typeof pattern === 'string') return
    const names = captureNames(pattern)
    for (const [field, template] of [
      ['channel', channel],
      ['event', event],
    ] as const) {
      if (typeof template === 'string') continue
      for (const name of templateNames(template)) {
        if (!names.includes(name) && !DEVICE_FIELDS.test(name)) {
          problem(field, `\${${name}} is neither a capture of "${config.match}" nor a device field`)
        }
      }
    }
    if (typeof channel === 'string' || typeof event === 'string') return
    // What can be known before any publish: the literal text must already fit Pusher's rules.
    const literalText = channel.parts.map((part) => ('text' in part ? part.text : '')).join('')
    if (literalText.length > 0 && !CHANNEL_NAME_PATTERN.test(literalText)) {
      problem('channel', `"${config.channel}" has characters outside A-Z a-z 0-9 _ - = @ , . ;`)
    } else if (literalText.length >= MAX_CHANNEL_NAME_LENGTH) {
      problem(
        'channel',
        `"${config.channel}" is ${MAX_CHANNEL_NAME_LENGTH} characters or longer before any capture`,
      )
    }
    const eventText = event.parts.map((part) => ('text' in part ? part.text : '')).join('')
    const eventStart = 'text' in (event.parts[0] ?? { name: '' }) ? eventText : ''
    if (eventStart.startsWith('pusher:') || eventStart.startsWith('pusher_internal:')) {
      problem('event', `"${config.event}" starts with a prefix pusher-js reserves`)
    } else if (eventText.length >= 200) {
      problem('event', `"${config.event}" is 200 characters or longer before any capture`)
    }
    const used = [...new Set([...templateNames(channel), ...templateNames(event)])]
    rules.push({
      name: config.name,
      pattern,
      channel,
      event,
      payload: config.payload,
      wrap: config.wrap,
      throttleMs: config.throttle,
      continue: config.continue,
      ownDevice: names.includes('deviceId') ? 'deviceId' : undefined,
      names: used,
      usesDevice: used.some((name) => name.startsWith('device.')),
    })
  })
  return { rules, problems }
}

export interface UplinkDevice {
  deviceId: string
  name: string | null
  tags: Record<string, string>
}

export interface UplinkEvent {
  rule: string
  channel: string
  event: string
  data: string
  throttleMs: number
}

export type UplinkOutcome = {
  events: UplinkEvent[]
  dropped: Array<{ rule: string; reason: string }>
  /** Events on channels nobody hears (`map`'s `isHeard`): neither rendered nor checked. */
  unheard: number
}

/** Why a rendered event name cannot go out, if it cannot (§5.2, and pusher-js's reserved prefixes). */
function eventProblem(event: string): string | undefined {
  if (event.length === 0 || event.length > 200)
    return 'event name is empty or longer than 200 characters'
  if (event.startsWith('pusher:') || event.startsWith('pusher_internal:'))
    return 'event name uses a reserved prefix'
  return undefined
}

/**
 * What one rule makes of one device's topic, known before the payload is read: the rendered
 * channel and event, or why nothing can go out.
 */
type Route =
  | { rule: UplinkRule; channel: string; event: string }
  | { rule: UplinkRule; problem: string }

/**
 * Topics whose routes are kept per device. A device publishes to a handful of topics over and over,
 * so matching and rendering run once per topic; one that cycles through more starts over.
 */
const ROUTES_PER_DEVICE = 64

/** The compiled rule set: an index for matching and the rendering of each match. */
export class UplinkRules {
  readonly #index = new PatternIndex<UplinkRule>()
  /**
   * Routes by device and topic. A session's device fields never change while it lasts (a change
   * ends the session), and a reload builds a new UplinkRules, so nothing here goes stale.
   */
  readonly #routes = new WeakMap<UplinkDevice, Map<string, Route[]>>()
  readonly size: number

  constructor(rules: readonly UplinkRule[]) {
    for (const rule of rules) this.#index.add(rule.pattern, rule)
    this.size = rules.length
  }

  /**
   * Maps one publish: first matching rule wins unless it says `continue`. The payload is read only
   * for events on a channel `isHeard` says someone receives: most device channels have no
   * dashboard open most of the time.
   */
  map(
    device: UplinkDevice,
    topic: string,
    payload: Buffer,
    receivedAt: number,
    isHeard: (channel: string) => boolean = () => true,
  ): UplinkOutcome {
    const outcome: UplinkOutcome = { events: [], dropped: [], unheard: 0 }
    for (const route of this.#routesFor(device, topic)) {
      const { rule } = route
      if ('problem' in route) {
        outcome.dropped.push({ rule: rule.name, reason: route.problem })
        continue
      }
      if (!isHeard(route.channel)) {
        outcome.unheard += 1
        continue
      }
      const data = payloadToEventData(payload, rule.payload)
      if (data === undefined) {
        outcome.dropped.push({ rule: rule.name, reason: `payload is not ${rule.payload}` })
        continue
      }
      outcome.events.push({
        rule: rule.name,
        channel: route.channel,
        event: route.event,
        data: rule.wrap
          ? JSON.stringify({
              deviceId: device.deviceId,
              topic,
              receivedAt,
              data: JSON.parse(data) as unknown,
            })
          : data,
        throttleMs: rule.throttleMs,
      })
    }
    return outcome
  }

  #routesFor(device: UplinkDevice, topic: string): Route[] {
    let byTopic = this.#routes.get(device)
    if (byTopic === undefined) {
      byTopic = new Map()
      this.#routes.set(device, byTopic)
    }
    let routes = byTopic.get(topic)
    if (routes === undefined) {
      routes = this.#route(device, topic)
      if (byTopic.size >= ROUTES_PER_DEVICE) byTopic.clear()
      byTopic.set(topic, routes)
    }
    return routes
  }

  #route(device: UplinkDevice, topic: string): Route[] {
    const routes: Route[] = []
    for (const rule of this.#index.match(topic)) {
      const values = captures(rule.pattern, topic)
      // A rule naming deviceId only ever speaks for the device that published.
      if (rule.ownDevice && values[rule.ownDevice] !== device.deviceId) continue
      if (rule.usesDevice) {
        values['device.id'] = device.deviceId
        values['device.name'] = device.name ?? ''
        for (const [tag, value] of Object.entries(device.tags)) values[`device.tags.${tag}`] = value
      }
      const channel = renderTemplate(rule.channel, values)
      const event = renderTemplate(rule.event, values)
      const empty = rule.names.find((name) => !values[name])
      const problem =
        empty !== undefined
          ? `\${${empty}} is empty for this topic`
          : !isValidChannelName(channel)
            ? `channel "${channel.slice(0, 200)}" is not a valid channel name`
            : eventProblem(event)
      routes.push(problem === undefined ? { rule, channel, event } : { rule, problem })
      if (!rule.continue) break
    }
    return routes
  }
}
