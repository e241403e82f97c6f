/**
 * Whether an open-loop step of generator.mjs passed: the generator kept the schedule (98 % of
 * what was due, less one write per device), no connection was closed, no message arrived twice
 * too often, the p99 stayed under `MAX_P99_US`, at least `DELIVERED_SHARE` of the messages sent
 * in the window arrived (by the end of the drain) and the receipts during the window reach that
 * share of the deliveries sent in it, less one millisecond of sends (one write per device) that
 * may be in flight at its edge: the server kept up, no growing backlog.
 * `ratePerSec` is the offered rate in messages (not deliveries) per second.
 */
export const DELIVERED_SHARE = 0.99
/** Past its limit a server builds a queue. */
export const MAX_P99_US = 250_000

export function bridgeVerdict(r, { ratePerSec, devices }) {
  const perMessage = r.perMessage ?? 1
  const kept = r.sentPerSec >= 0.98 * ratePerSec - devices / r.seconds
  const keptUp =
    r.receiptsInWindow >=
    (DELIVERED_SHARE * r.sentInWindow - ratePerSec / 1000 - devices) * perMessage
  const pass =
    kept &&
    keptUp &&
    r.closed === 0 &&
    r.duplicates === 0 &&
    r.p99Us !== null &&
    r.p99Us <= MAX_P99_US &&
    r.receivedOfWindow >= DELIVERED_SHARE * r.sentInWindow
  return { kept, keptUp, pass }
}
