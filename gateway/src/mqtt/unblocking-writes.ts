import type { Duplex } from 'node:stream'

/**
 * Keeps one connection's backpressure out of aedes' delivery pipeline. aedes waits for a socket
 * that reports a full buffer to drain before it calls that delivery done, and the message's other
 * deliveries and the gateway's `published` hook (the browsers) wait with it: one device that
 * stopped reading held everyone's messages for the whole drain timeout (benchmark scenario 6:
 * others' p99 30 s; gateway/test/mqtt-slow-subscriber.test.ts).
 *
 * So the connection's `write` reports every write as accepted; what it protects against is handled
 * here and in `authorizeForward`: a QoS 0 message for a connection that needs draining is dropped
 * before it is written, and a connection that has not drained `drainTimeoutMs` after a write
 * filled its buffer is destroyed (`onTimeout` first), as aedes would have. Until then QoS 1 and 2
 * messages for it wait in its buffer (at most the drain timeout's worth). 0 never disconnects.
 */
export function unblockWrites(
  connection: Duplex,
  drainTimeoutMs: number,
  onTimeout: () => void,
): void {
  const write = connection.write
  let timer: NodeJS.Timeout | undefined
  const drained = () => {
    clearTimeout(timer)
    timer = undefined
  }
  connection.write = ((...args: Parameters<Duplex['write']>) => {
    if (!write.apply(connection, args) && timer === undefined && drainTimeoutMs > 0) {
      timer = setTimeout(() => {
        onTimeout()
        connection.destroy(new Error('drain timeout'))
      }, drainTimeoutMs)
      connection.once('drain', drained)
    }
    return true
  }) as Duplex['write']
  connection.once('close', drained)
}
