import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { mqttUrl, provision } from './support/device.js'
import { recordEvents } from './support/device-sdk.js'
import { createPusherClient, nextEvent, subscribed } from './support/pusher.js'
import { pusherServer } from './support/pusher-server.js'
import { startTestGateway, tempDir, testApp } from './support/test-gateway.js'

const EXAMPLES = fileURLToPath(new URL('../device-sdk/examples/', import.meta.url))
const DIST = fileURLToPath(new URL('../device-sdk/dist/index.js', import.meta.url))

/** Runs an example as a user would (node, importing @fleetcast/device-sdk), killed after the test. */
function runExample(file: string, env: Record<string, string>) {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" first`)
  const child: ChildProcess = spawn(process.execPath, [join(EXAMPLES, file)], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  onTestFinished(async () => {
    child.kill('SIGKILL')
    await exited
  })
  /** `work`, or a rejection with the example's output if it exits first. */
  const whileRunning = <T>(work: Promise<T>): Promise<T> =>
    Promise.race([
      work,
      exited.then((code) => {
        throw new Error(`${file} exited with ${code} first; output:\n${output}`)
      }),
    ])
  return { child, exited, output: () => output, whileRunning }
}

describe('device SDK examples', () => {
  it('pi-telemetry.mjs publishes CPU temperature and load, takes set-interval, and exits cleanly on SIGTERM', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'pi-example')
    // A thermal zone as a Raspberry Pi has it: type cpu-thermal, temp in millidegrees.
    const thermal = tempDir('fleetcast-thermal-')
    mkdirSync(join(thermal, 'thermal_zone0'))
    writeFileSync(join(thermal, 'thermal_zone0', 'type'), 'cpu-thermal\n')
    writeFileSync(join(thermal, 'thermal_zone0', 'temp'), '48312\n')
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-example')
    await subscribed(browser, 'private-cache-device-pi-example')
    const telemetry = recordEvents(browser, 'private-device-pi-example', 'telemetry')
    const statuses = recordEvents(browser, 'private-cache-device-pi-example', 'status')
    const example = runExample('pi-telemetry.mjs', {
      FLEETCAST_URL: mqttUrl(target),
      DEVICE_ID: 'pi-example',
      DEVICE_SECRET: secret,
      DATA_DIR: tempDir('fleetcast-pi-data-'),
      THERMAL_DIR: thermal,
      INTERVAL_MS: '60000',
    })
    await example.whileRunning(telemetry.until((t) => t.length >= 1))
    expect(telemetry.received[0]).toEqual({
      ts: expect.any(Number),
      cpuTempC: 48.3,
      load1: expect.any(Number),
      load5: expect.any(Number),
      load15: expect.any(Number),
      memFreeMb: expect.any(Number),
    })

    const acks = recordEvents(browser, 'private-device-pi-example', 'command.ack')
    const backend = pusherServer(target, testApp)
    await backend.trigger('private-device-pi-example', 'command.set-interval', { ms: 10 })
    await backend.trigger('private-device-pi-example', 'command.set-interval', { ms: 1000 })
    await example.whileRunning(acks.until((a) => a.length >= 2))
    expect(acks.received.map((a) => (a as { data: unknown }).data)).toEqual([
      expect.objectContaining({
        status: 'error',
        error: expect.objectContaining({ message: expect.stringMatching(/>= 1000/) }),
      }),
      expect.objectContaining({ status: 'ok', result: { intervalMs: 1000 } }),
    ])
    await example.whileRunning(telemetry.until((t) => t.length >= 2))

    example.child.kill('SIGTERM')
    expect(await example.exited).toBe(0)
    expect(example.output()).toContain('closed, all delivered')
    await statuses.until((s) =>
      s.some((status) => (status as { online: boolean }).online === false),
    )
  })

  it('command-handler.mjs answers led and uptime, and reports bad arguments as errors', async () => {
    const target = await startTestGateway()
    const secret = await provision(target, 'pi-cmd-example')
    const led = join(tempDir('fleetcast-led-'), 'brightness')
    const browser = createPusherClient(target.addresses.http.port, testApp)
    await subscribed(browser, 'private-device-pi-cmd-example')
    await subscribed(browser, 'private-cache-device-pi-cmd-example')
    const online = nextEvent(browser, 'private-cache-device-pi-cmd-example', 'status')
    const acks = recordEvents(browser, 'private-device-pi-cmd-example', 'command.ack')
    const example = runExample('command-handler.mjs', {
      FLEETCAST_URL: mqttUrl(target),
      DEVICE_ID: 'pi-cmd-example',
      DEVICE_SECRET: secret,
      DATA_DIR: tempDir('fleetcast-cmd-data-'),
      LED_PATH: led,
    })
    expect(await example.whileRunning(online)).toMatchObject({ online: true })
    const backend = pusherServer(target, testApp)
    await backend.trigger('private-device-pi-cmd-example', 'command.led', { on: true })
    await acks.until((a) => a.length >= 1)
    await backend.trigger('private-device-pi-cmd-example', 'command.uptime', {})
    await acks.until((a) => a.length >= 2)
    await backend.trigger('private-device-pi-cmd-example', 'command.led', { on: 'yes' })
    await acks.until((a) => a.length >= 3)
    const data = acks.received.map((a) => (a as { data: unknown }).data)
    expect(data).toEqual([
      expect.objectContaining({ status: 'ok', result: { led: 'on' } }),
      expect.objectContaining({
        status: 'ok',
        result: expect.objectContaining({ seconds: expect.any(Number) }),
      }),
      expect.objectContaining({
        status: 'error',
        error: expect.objectContaining({ code: 'bad_args' }),
      }),
    ])
    expect(readFileSync(led, 'utf8')).toBe('1')
  })
})
