import type { Device } from '../domain/device.js'
import type { UplinkOutcome, UplinkRules } from './uplink-rules.js'

export interface DryRunRequest {
  topic: string
  payload: Buffer
  /** The publishing device; by default the one the topic names (`devices/{id}/...`). */
  deviceId?: string | undefined
}

/** What `fleetcast rules test` and `POST /admin/v1/rules/test` answer. */
export interface DryRunAnswer {
  device: { id: string; known: boolean }
  events: Array<{ rule: string; channel: string; event: string; data: unknown }>
  dropped: UplinkOutcome['dropped']
}

/** The device a dry run publishes as: the one asked for, or the one the topic names. */
export function dryRunDeviceId(request: Pick<DryRunRequest, 'topic' | 'deviceId'>): string {
  return request.deviceId ?? /^devices\/([^/]+)\//.exec(request.topic)?.[1] ?? ''
}

/**
 * The events the uplink rules would make of one publish, without sending anything. The device's
 * name and tags come from the store, as they would for a real publish.
 */
export function dryRunUplink(
  rules: UplinkRules,
  request: DryRunRequest,
  stored: Device | undefined,
): DryRunAnswer {
  const deviceId = dryRunDeviceId(request)
  const outcome = rules.map(
    { deviceId, name: stored?.name ?? null, tags: stored?.tags ?? {} },
    request.topic,
    request.payload,
    Date.now(),
  )
  return {
    device: { id: deviceId, known: stored !== undefined },
    events: outcome.events.map(({ rule, channel, event, data }) => ({
      rule,
      channel,
      event,
      data: JSON.parse(data) as unknown,
    })),
    dropped: outcome.dropped,
  }
}
