/**
 * Whether an open-loop fan-out step (the `step` command of generator.mjs) passed: the generator
 * kept the schedule (98 % of the events due), everything arrived during the drain, no socket was
 * closed, and the deliveries in the window reach 99 % of those offered less one fan-out (N) that
 * may be in flight at the window's edge (no growing backlog).
 */
export function fanoutVerdict(r, { eventsPerSec, n }) {
  const kept = r.sentEventsPerSec * r.seconds >= 0.98 * eventsPerSec * r.seconds - 1
  const pass = kept && r.drained && r.closedSockets === 0 && r.delivered >= 0.99 * r.offered - n
  return { kept, pass }
}
