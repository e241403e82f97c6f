import { describe, expect, it } from 'vitest'
import { createGatewayMetrics } from './gateway-metrics.js'

const sources = {
  connections: () => ({ pusher: 0, mqtt: 0, rest: 0 }),
  subscriptions: () => 0,
  webhookQueueDepth: () => 0,
  webhookStats: () => ({ delivered: 0, failed: 0, dropped: 0 }),
}

describe('gateway metrics', () => {
  it('counts per label and renders the same totals on every scrape', async () => {
    const { meter, render } = createGatewayMetrics(sources)
    meter.messageIn('mqtt')
    meter.messageIn('mqtt')
    meter.messagesOut('pusher', 3)
    meter.messagesOut('pusher', 4)
    meter.dropped('oversize')
    meter.rejected('http_401')
    meter.rejected('mqtt_publish_acl')
    meter.rejected('http_401')
    for (const text of [await render(), await render()]) {
      expect(text).toMatch(/^fleetcast_messages_in_total\{edge="mqtt"\} 2$/m)
      expect(text).toMatch(/^fleetcast_messages_out_total\{edge="pusher"\} 7$/m)
      expect(text).toMatch(/^fleetcast_drops_total\{reason="oversize"\} 1$/m)
      expect(text).toMatch(/^fleetcast_rejections_total\{reason="http_401"\} 2$/m)
      expect(text).toMatch(/^fleetcast_rejections_total\{reason="mqtt_publish_acl"\} 1$/m)
      expect(text).not.toMatch(/^fleetcast_messages_in_total\{edge="rest"\}/m)
    }
  })
})
