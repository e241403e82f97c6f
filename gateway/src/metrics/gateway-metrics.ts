import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import type { Edge, Meter } from '../domain/meter.js'

/** Live figures read when /metrics is scraped. */
export interface MetricSources {
  connections(): Record<Edge, number>
  subscriptions(): number
  webhookQueueDepth(): number
  webhookStats(): { delivered: number; failed: number; dropped: number }
}

export interface GatewayMetrics {
  meter: Meter
  contentType: string
  render(): Promise<string>
}

/**
 * Prometheus metrics (prom-client) on a registry of their own, so several gateways in one
 * process (tests) do not collide. Event-loop lag and process figures come from the default set.
 */
export function createGatewayMetrics(sources: MetricSources): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'fleetcast_' })
  const messagesIn = labelledTotals(registry, {
    name: 'fleetcast_messages_in_total',
    help: 'Messages that entered through an edge',
    label: 'edge',
  })
  const messagesOut = labelledTotals(registry, {
    name: 'fleetcast_messages_out_total',
    help: 'Messages written out through an edge (one per socket or device)',
    label: 'edge',
  })
  const drops = labelledTotals(registry, {
    name: 'fleetcast_drops_total',
    help: 'Accepted messages that were not delivered, by reason',
    label: 'reason',
  })
  const rejections = labelledTotals(registry, {
    name: 'fleetcast_rejections_total',
    help: 'Refused connections, requests and frames, by reason',
    label: 'reason',
  })
  new Gauge({
    name: 'fleetcast_connections',
    help: 'Open connections by edge',
    labelNames: ['edge'],
    registers: [registry],
    collect() {
      for (const [edge, count] of Object.entries(sources.connections())) this.set({ edge }, count)
    },
  })
  new Gauge({
    name: 'fleetcast_subscriptions',
    help: 'Channel subscriptions held by this node',
    registers: [registry],
    collect() {
      this.set(sources.subscriptions())
    },
  })
  new Gauge({
    name: 'fleetcast_webhook_queue_depth',
    help: 'Webhook POSTs waiting in the queue',
    registers: [registry],
    collect() {
      this.set(sources.webhookQueueDepth())
    },
  })
  new Gauge({
    name: 'fleetcast_webhooks',
    help: 'Webhook POSTs since start, by outcome (delivered, failed attempts, dropped)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      for (const [outcome, count] of Object.entries(sources.webhookStats()))
        this.set({ outcome }, count)
    },
  })
  return {
    meter: {
      messageIn: (edge) => messagesIn(edge, 1),
      messagesOut: (edge, count) => messagesOut(edge, count),
      dropped: (reason) => drops(reason, 1),
      rejected: (reason) => rejections(reason, 1),
    },
    contentType: registry.contentType,
    render: () => registry.metrics(),
  }
}

/**
 * A counter with one label whose totals are plain numbers, handed to prom-client only when
 * /metrics is scraped: prom-client's `inc()` validates and hashes the labels on every call (a
 * `labels()` binding too), and these counters move per message. Returns `add(labelValue, count)`.
 */
function labelledTotals(
  registry: Registry,
  { name, help, label }: { name: string; help: string; label: string },
): (value: string, count: number) => void {
  const totals = new Map<string, number>()
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [value, total] of totals) this.inc({ [label]: value }, total)
    },
  })
  return (value, count) => {
    totals.set(value, (totals.get(value) ?? 0) + count)
  }
}
