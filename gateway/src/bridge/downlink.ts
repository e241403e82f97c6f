import { randomUUID } from 'node:crypto'
import type { z } from 'zod'
import type { downlinkRuleSchema } from '../config/bridge-schema.js'
import type { ChannelEnvelope } from '../domain/envelope.js'
import type { Meter } from '../domain/meter.js'
import { isTopicLevel } from '../domain/topic-filter.js'
import type { Logger } from '../log.js'
import { matchName, type NamePattern, parseNamePattern } from './name-pattern.js'
import { parseTemplate, renderTemplate, type Template, templateNames } from './template.js'
import type { RuleProblem } from './uplink-rules.js'

export type DownlinkRuleConfig = z.output<typeof downlinkRuleSchema>

/** ARCHITECTURE.md: `command.{name}` (REST) or `client-command.{name}` on the device's channel. */
export const DEFAULT_DOWNLINK: DownlinkRuleConfig[] = [
  {
    name: 'device-commands',
    channel: 'private-device-${deviceId}',
    event: 'command.${command}',
    clientEvents: true,
    topic: 'devices/${deviceId}/commands/${command}',
    qos: 1,
    expires: 0,
  },
]

export interface DownlinkRule {
  name: string
  channel: NamePattern
  event: NamePattern
  clientEvents: boolean
  topic: Template
  qos: 0 | 1
  expiresMs: number
}

export function compileDownlinkRules(configs: readonly DownlinkRuleConfig[]): {
  rules: DownlinkRule[]
  problems: RuleProblem[]
} {
  const problems: RuleProblem[] = []
  const rules: DownlinkRule[] = []
  configs.forEach((config, i) => {
    const problem = (field: string, message: string) =>
      problems.push({ path: ['bridge', 'downlink', i, field], message })
    const channel = parseNamePattern(config.channel)
    const event = parseNamePattern(config.event)
    const topic = parseTemplate(config.topic)
    if (typeof channel === 'string') problem('channel', channel)
    if (typeof event === 'string') problem('event', event)
    if (typeof topic === 'string') problem('topic', topic)
    if (typeof channel === 'string' || typeof event === 'string' || typeof topic === 'string')
      return
    if (!channel.names.includes('deviceId')) {
      problem(
        'channel',
        `"${config.channel}" must capture \${deviceId}: commands go to one device of the app`,
      )
    }
    for (const name of templateNames(topic)) {
      if (!channel.names.includes(name) && !event.names.includes(name)) {
        problem('topic', `\${${name}} is captured by neither the channel nor the event pattern`)
      }
    }
    rules.push({
      name: config.name,
      channel,
      event,
      clientEvents: config.clientEvents,
      topic,
      qos: config.qos,
      expiresMs: config.expires * 1000,
    })
  })
  return { rules, problems }
}

export interface DownlinkOptions {
  rules: readonly DownlinkRule[]
  /** The device's app, if the device exists: a backend of one app never commands another's devices. */
  deviceApp(deviceId: string): string | undefined
  publish(topic: string, payload: Buffer, qos: 0 | 1): void
  meter: Meter
  log: Logger
}

/**
 * Channel events to device commands: the first matching rule renders the topic and publishes a
 * command envelope `{id, name, args, issuedAt, expiresAt?}`. aedes queues it for an offline device
 * with a persistent session.
 */
export function createDownlink(options: DownlinkOptions) {
  let rules = options.rules
  const handle = (envelope: ChannelEnvelope, origin: 'backend' | 'client'): void => {
    for (const rule of rules) {
      if (origin === 'client' && !rule.clientEvents) continue
      const eventName =
        origin === 'client' ? envelope.event.replace(/^client-/, '') : envelope.event
      const channelCaptures = matchName(rule.channel, envelope.channel)
      const eventCaptures = channelCaptures && matchName(rule.event, eventName)
      if (!channelCaptures || !eventCaptures) continue
      const values = { ...channelCaptures, ...eventCaptures }
      const deviceId = values.deviceId ?? ''
      if (options.deviceApp(deviceId) !== envelope.appId) {
        options.meter.dropped('downlink_unknown_device')
        return
      }
      // Every capture must be one non-empty topic level, or the command could land elsewhere.
      if (!Object.values(values).every(isTopicLevel)) {
        options.meter.dropped('downlink_unrenderable')
        options.log.warn(
          { rule: rule.name, channel: envelope.channel, event: envelope.event },
          'downlink dropped: a capture is not a topic level',
        )
        return
      }
      const issuedAt = Date.now()
      const args = typeof envelope.data === 'string' ? parseOr(envelope.data) : envelope.data
      const command = {
        id: randomUUID(),
        name: values.command ?? eventName,
        args,
        issuedAt,
        ...(rule.expiresMs > 0 ? { expiresAt: issuedAt + rule.expiresMs } : {}),
      }
      options.publish(
        renderTemplate(rule.topic, values),
        Buffer.from(JSON.stringify(command)),
        rule.qos,
      )
      options.meter.messagesOut('mqtt', 1)
      return
    }
  }
  return {
    handle,
    /** Swaps the rule set at once. */
    setRules: (next: readonly DownlinkRule[]) => {
      rules = next
    },
  }
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
