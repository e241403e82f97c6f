import mqtt, { type MqttClient } from 'mqtt'
import { onTestFinished } from 'vitest'
import { provisionDevice } from '../../gateway/src/fleet/provision-device.js'
import type { TestGateway } from './test-gateway.js'

export function mqttUrl(target: TestGateway): string {
  return `mqtt://127.0.0.1:${target.addresses.mqtt.port}`
}

/** Provisions a device in the gateway's store and connects it with mqtt.js as firmware would. */
export async function connectDevice(target: TestGateway, id: string): Promise<MqttClient> {
  const { secret } = await provisionDevice(target.gateway.store, { id })
  const client = await mqtt.connectAsync(mqttUrl(target), {
    clientId: id,
    username: id,
    password: secret,
    reconnectPeriod: 0,
  })
  onTestFinished(() => client.endAsync(true))
  return client
}
