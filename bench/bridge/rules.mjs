/**
 * The uplink rule sets of the bridge bench. The rule every publish of the bench matches maps
 * `devices/+deviceId/events/+event` to `${event}` on `private-device-${deviceId}` (the default
 * topic contract as one rule). `uplinkRules(count)` puts `count - 1` other rules before it, so a
 * linear scan in rule order would try all of them first. None of them matches
 * `devices/{id}/events/reading`; each has its own literal level, captures and templates. Two in
 * five share the matching rule's path down to `devices/+deviceId/` and differ at the third level
 * (what a real rule set over the default topics looks like); the others start with a literal of
 * their own.
 */
export const MATCHING_RULE = {
  name: 'device-events',
  match: 'devices/+deviceId/events/+event',
  channel: 'private-device-${deviceId}',
  event: '${event}',
}

function otherRule(i) {
  const tag = String(i).padStart(4, '0')
  switch (i % 5) {
    case 0:
      return {
        name: `telemetry-${tag}`,
        match: `devices/+deviceId/telemetry-${tag}/+metric`,
        channel: 'private-device-${deviceId}',
        event: `telemetry-${tag}.\${metric}`,
      }
    case 1:
      return {
        name: `site-${tag}`,
        match: `site-${tag}/+zone/+deviceId/readings/+metric`,
        channel: `private-site-${tag}-\${zone}`,
        event: '${metric}',
      }
    case 2:
      return {
        name: `logs-${tag}`,
        match: `logs-${tag}/+deviceId/#path`,
        channel: `private-logs-${tag}-\${deviceId}`,
        event: 'log',
        payload: 'text',
      }
    case 3:
      return {
        name: `state-${tag}`,
        match: `devices/+deviceId/state-${tag}`,
        channel: `private-cache-state-${tag}-\${deviceId}`,
        event: 'state',
        wrap: true,
      }
    default:
      return {
        name: `fleet-${tag}`,
        match: `fleet-${tag}/+region/+deviceId/events/+event`,
        channel: `private-fleet-${tag}-\${region}`,
        event: `\${event}.\${deviceId}`,
        throttle: 100,
      }
  }
}

/** `count` rules, the matching one last. */
export function uplinkRules(count) {
  if (!Number.isInteger(count) || count < 1) throw new Error(`rule count ${count} is not >= 1`)
  return [...Array.from({ length: count - 1 }, (_, i) => otherRule(i)), MATCHING_RULE]
}
