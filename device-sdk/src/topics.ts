/**
 * The gateway's default topic contract (docs/topics.md). Device code builds topics through these
 * helpers instead of concatenating strings, so a typo cannot put a message outside its ACL.
 */
// '/' separates levels, '+' and '#' are wildcards, U+0000 is banned in topics [MQTT-4.7.3-2].
const FORBIDDEN = ['/', '+', '#', '\u0000']

function level(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || FORBIDDEN.some((c) => value.includes(c)))
    throw new TypeError(`${what} "${value}" must be one non-empty topic level without / + # or NUL`)
  return value
}

/** True when `value` can be one topic level of the contract. */
export function isTopicLevel(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !FORBIDDEN.some((c) => value.includes(c))
}

/** `devices/{deviceId}/events/{event}`: becomes event `{event}` on channel `private-device-{deviceId}`. */
export function eventTopic(deviceId: string, event: string): string {
  return `devices/${level(deviceId, 'device id')}/events/${level(event, 'event name')}`
}

/** `devices/{deviceId}/commands/{name}`: where the gateway publishes commands for the device. */
export function commandTopic(deviceId: string, name: string): string {
  return `devices/${level(deviceId, 'device id')}/commands/${level(name, 'command name')}`
}

/** The filter a device subscribes to for all of its commands. */
export function commandFilter(deviceId: string): string {
  return `devices/${level(deviceId, 'device id')}/commands/+`
}

/** `devices/{deviceId}/acks/{commandId}`: the answer to a command, `command.ack` in browsers. */
export function ackTopic(deviceId: string, commandId: string): string {
  return `devices/${level(deviceId, 'device id')}/acks/${level(commandId, 'command id')}`
}

/**
 * `devices/{deviceId}/status`: retained birth `{"online":true,...}` and will `{"online":false}`;
 * event `status` on the cache channel `private-cache-device-{deviceId}`.
 */
export function statusTopic(deviceId: string): string {
  return `devices/${level(deviceId, 'device id')}/status`
}
