/**
 * Whether an open-loop publish step (the `publish` command of generator.mjs) passed: the
 * generator kept the schedule (98 % of what was due, less one write per device), the broker
 * processed at least `KEPT_UP` of what was sent in the window (and acknowledged it at QoS 1),
 * everything was answered during the drain, no connection was closed, and the p99 stayed under
 * `MAX_P99_US`.
 */

/**
 * The marks are PINGREQ round trips, which brokers answer with up to a write interval (10 ms at
 * N = 200) of jitter: about 2 % of a 1 s window.
 */
export const KEPT_UP = 0.95
/**
 * A broker that stalls for a while and then catches up would otherwise pass, and one that builds
 * a queue is past its limit.
 */
export const MAX_P99_US = 250_000

export function publishVerdict(r, { ratePerSec, devices, qos }) {
  const kept = r.sentPerSec >= 0.98 * ratePerSec - devices / r.seconds
  const pass =
    kept &&
    r.drained &&
    r.closed === 0 &&
    r.processedPerSec !== null &&
    r.p99Us !== null &&
    r.p99Us <= MAX_P99_US &&
    r.processedPerSec >= KEPT_UP * r.sentPerSec &&
    (qos === 0 || r.ackedPerSec >= KEPT_UP * r.sentPerSec)
  return { kept, pass }
}
