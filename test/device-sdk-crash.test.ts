import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { provision } from './support/device.js'
import { closedPort, recordEvents } from './support/device-sdk.js'
import { createPusherClient, subscribed } from './support/pusher.js'
import { startTcpProxy } from './support/tcp-proxy.js'
import { startTestGateway, tempDir, testApp } from './support/test-gateway.js'

const CHILD = fileURLToPath(new URL('./support/device-sdk-child.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../device-sdk/dist/index.js', import.meta.url))

interface DeviceProcess {
  child: ChildProcess
  /** Resolves once the process printed a line satisfying `match`. */
  line(match: (line: string) => boolean): Promise<string>
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>
}

/** A device process running the built SDK (device-sdk/dist, made by `npm run build`). */
function deviceProcess(options: Record<string, unknown>): DeviceProcess {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" first`)
  const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  onTestFinished(async () => {
    child.kill('SIGKILL')
    await exited
  })
  const lines: string[] = []
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = []
  let partial = ''
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString()
    const complete = partial.split('\n')
    partial = complete.pop() ?? ''
    for (const line of complete) {
      lines.push(line)
      for (const waiter of [...waiters]) {
        if (!waiter.match(line)) continue
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  return {
    child,
    line: (match) => {
      const found = lines.find(match)
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        void exited.then(() => reject(new Error(`device process exited; stderr: ${stderr}`)))
      })
    },
    kill: async () => {
      child.kill('SIGKILL')
      await exited
    },
  }
}

describe('device SDK: a device process killed mid-queue', () => {
  it('loses nothing across SIGKILL while offline and while delivering; duplicates only of what had arrived', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'sdk-crash')
    const dataDir = tempDir('fleetcast-sdk-crash-')
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-sdk-crash')
    await subscribed(browser, 'private-cache-device-sdk-crash')
    const readings = recordEvents(browser, 'private-device-sdk-crash', 'reading')
    const statuses = recordEvents(browser, 'private-cache-device-sdk-crash', 'status')
    const proxy = await startTcpProxy(await closedPort())
    const base = { url: `mqtt://127.0.0.1:${proxy.port}`, deviceId: 'sdk-crash', secret, dataDir }
    const total = 200

    // 1. Offline: 200 readings go to disk, then the process is killed.
    const first = deviceProcess({ ...base, from: 1, count: total })
    await first.line((l) => l === `queued ${total}`)
    await first.kill()
    expect(readings.received).toHaveLength(0)

    // 2. The gateway is reachable: a new process finds all 200 and starts sending, one at a time,
    //    and is killed partway (its uplink cut first, so it cannot finish in between).
    proxy.retarget(target.addresses.mqtt.port)
    const secondConnections = proxy.connections.length
    const second = deviceProcess({ ...base, from: 0, count: 0, maxInflight: 1 })
    expect(await second.line((l) => l.startsWith('started'))).toBe(`started ${total}`)
    await readings.until((r) => r.length >= 50)
    for (const connection of proxy.connections.slice(secondConnections)) connection.freezeUplink()
    await second.kill()
    const beforeKill = readings.received.map((d) => (d as { n: number }).n)
    expect(beforeKill.length).toBeLessThan(total)
    // The gateway saw the connection die without DISCONNECT: the will marks the device offline.
    await statuses.until((s) =>
      s.some((status) => (status as { online: boolean }).online === false),
    )

    // 3. A third process delivers the rest.
    const third = deviceProcess({ ...base, from: 0, count: 0 })
    const restarted = Number((await third.line((l) => l.startsWith('started'))).split(' ')[1])
    // What the first processes left: every message not yet recorded as acknowledged.
    expect(restarted).toBeGreaterThanOrEqual(total - beforeKill.length)
    expect(restarted).toBeLessThanOrEqual(total)
    await readings.until((r) => new Set(r.map((d) => (d as { n: number }).n)).size >= total)

    const all = readings.received.map((d) => (d as { n: number }).n)
    const firsts = all.filter((n, i) => all.indexOf(n) === i)
    expect(firsts).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    // QoS 1: a message may arrive twice only if it had reached the gateway before the kill
    // and its PUBACK was not yet recorded.
    const duplicates = all.filter((n, i) => all.indexOf(n) !== i)
    for (const n of duplicates) expect(beforeKill).toContain(n)
    expect(duplicates.length).toBeLessThanOrEqual(restarted - (total - beforeKill.length))
    expect((statuses.received.at(-1) as { online: boolean }).online).toBe(true)
  })
})
