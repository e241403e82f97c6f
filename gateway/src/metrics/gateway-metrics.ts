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
  const messagesIn = new Counter({
    name: 'fleetcast_messages_in_total',
    help: 'Messages that entered through an edge',
    labelNames: ['edge'],
    registers: [registry],
  })
  const messagesOut = new Counter({
    name: 'fleetcast_messages_out_total',
    help: 'Messages written out through an edge (one per socket or device)',
    labelNames: ['edge'],
    registers: [registry],
  })
  const drops = new Counter({
    name: 'fleetcast_drops_total',
    help: 'Accepted messages that were not delivered, by reason',
    labelNames: ['reason'],
    registers: [registry],
  })
  const rejections = new Counter({
    name: 'fleetcast_rejections_total',
    help: 'Refused connections, requests and frames, by reason',
    labelNames: ['reason'],
    registers: [registry],
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
  // Bound once per edge: a labelled inc() hashes its labels on every call, and these run per message.
  const edges: readonly Edge[] = ['pusher', 'mqtt', 'rest']
  const inByEdge = new Map(edges.map((edge) => [edge, messagesIn.labels(edge)]))
  const outByEdge = new Map(edges.map((edge) => [edge, messagesOut.labels(edge)]))
  return {
    meter: {
      messageIn: (edge) => inByEdge.get(edge)?.inc(),
      messagesOut: (edge, count) => outByEdge.get(edge)?.inc(count),
      dropped: (reason) => drops.inc({ reason }),
      rejected: (reason) => rejections.inc({ reason }),
    },
    contentType: registry.contentType,
    render: () => registry.metrics(),
  }
}
