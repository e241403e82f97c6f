import { once } from 'node:events'
import { createServer } from 'node:net'
import { onTestFinished } from 'vitest'
import { createDevice, type Device, type DeviceOptions } from '../../device-sdk/src/index.js'
import type { PusherClient } from '../../gateway/src/cli/pusher-js.js'
import { tempDir } from './test-gateway.js'

/** A loopback port nothing listens on (bound, then released): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return address.port
}

/**
 * An SDK device with its own temporary data directory and quick reconnects, closed (without
 * waiting for a flush) when the calling test finishes. Not started.
 */
export function testDevice(options: Omit<DeviceOptions, 'dataDir'> & { dataDir?: string }): Device {
  const device = createDevice({
    dataDir: tempDir('fleetcast-sdk-'),
    backoff: { minDelayMs: 10, maxDelayMs: 100 },
    ...options,
  })
  onTestFinished(() => device.close({ timeoutMs: 0 }).then(() => undefined))
  return device
}

/** Every `event` pusher-js receives on `channel`, and a way to wait until enough arrived. */
export function recordEvents(client: PusherClient, channel: string, event: string) {
  const received: unknown[] = []
  const waiters: Array<{ check: () => boolean; resolve: () => void }> = []
  client.channel(channel).bind(event, (data: unknown) => {
    received.push(data)
    for (const waiter of [...waiters]) {
      if (!waiter.check()) continue
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  })
  return {
    received,
    /** Resolves once `check(received)` holds (now or after a later event). */
    until(check: (received: unknown[]) => boolean): Promise<void> {
      if (check(received)) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ check: () => check(received), resolve }))
    },
  }
}

/** Resolves with the first payload of `event` that satisfies `match`. */
export function nextDeviceEvent<K extends keyof DeviceEventsOf>(
  device: Device,
  event: K,
  match: (payload: DeviceEventsOf[K][0]) => boolean = () => true,
): Promise<DeviceEventsOf[K][0]> {
  return new Promise((resolve) => {
    const listener = (payload: DeviceEventsOf[K][0]) => {
      if (!match(payload)) return
      device.off(event, listener as never)
      resolve(payload)
    }
    device.on(event, listener as never)
  })
}

type DeviceEventsOf = import('../../device-sdk/src/index.js').DeviceEvents
