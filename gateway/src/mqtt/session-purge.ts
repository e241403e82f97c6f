import type { Aedes } from 'aedes'

/**
 * Forgets a client id's persistent session: subscriptions, queued outgoing messages and the
 * inbound QoS 2 store, as a clean-session CONNECT would [MQTT-3.1.2-6].
 */
export async function purgeSession(broker: Aedes, clientId: string): Promise<void> {
  // Not in aedes' typings, but the documented way to reach the session store.
  const persistence = (broker as unknown as { persistence: unknown }).persistence as {
    cleanSubscriptions(client: { id: string }): Promise<unknown>
    outgoingStream(client: { id: string }): AsyncIterable<{ messageId?: number }>
    outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>
    cleanIncoming?(client: { id: string }): Promise<unknown>
  }
  const client = { id: clientId }
  await persistence.cleanSubscriptions(client)
  const queued: unknown[] = []
  for await (const packet of persistence.outgoingStream(client)) queued.push(packet)
  for (const packet of queued) await persistence.outgoingClearMessageId(client, packet)
  await persistence.cleanIncoming?.(client)
}
