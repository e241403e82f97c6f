import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { onTestFinished } from 'vitest'
import { type ProvisionRequest, provisionDevice } from '../../gateway/src/fleet/provision-device.js'
import type { TestGateway } from './test-gateway.js'

export function mqttUrl(target: TestGateway): string {
  return `mqtt://127.0.0.1:${target.addresses.mqtt.port}`
}

/** Provisions a device in the gateway's store; resolves to its secret. */
export async function provision(
  target: TestGateway,
  id: string,
  extra: Omit<ProvisionRequest, 'id'> = {},
): Promise<string> {
  return (await provisionDevice(target.gateway.store, { id, ...extra })).secret
}

/** Connects as a device would (client id = username = device id), closed after the test. */
export async function connectAs(
  target: TestGateway,
  id: string,
  secret: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(mqttUrl(target), {
    clientId: id,
    username: id,
    password: secret,
    reconnectPeriod: 0,
    ...options,
  })
  onTestFinished(() => client.endAsync(true))
  return client
}

/** Provisions a device in the gateway's store and connects it with mqtt.js as firmware would. */
export async function connectDevice(target: TestGateway, id: string): Promise<MqttClient> {
  return connectAs(target, id, await provision(target, id))
}

/** The CONNACK return code of a refused connection (mqtt.js `error.code`). */
export async function refusalCode(
  url: string,
  options: IClientOptions,
): Promise<number | undefined> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
  try {
    return await new Promise<number | undefined>((resolve, reject) => {
      client.once('connect', () => reject(new Error('connection was accepted')))
      client.once('error', (error) => resolve((error as { code?: number }).code))
    })
  } finally {
    client.end(true)
  }
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) resolve()
    else client.once('close', () => resolve())
  })
}
