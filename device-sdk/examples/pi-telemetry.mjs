#!/usr/bin/env node
// Raspberry Pi telemetry with @fleetcast/device-sdk: CPU temperature (from /sys/class/thermal)
// and load (os.loadavg) every INTERVAL_MS, queued on disk while the gateway is unreachable.
//
//   FLEETCAST_URL=mqtt://gateway.local:1883 DEVICE_ID=pi-kitchen DEVICE_SECRET=... \
//   DATA_DIR=/var/lib/fleetcast-device node pi-telemetry.mjs
//
// Browsers get event `telemetry` on `private-device-{DEVICE_ID}`:
//   { "ts": 1767000000000, "cpuTempC": 48.3, "load1": 0.12, "load5": 0.09, "load15": 0.05, "memFreeMb": 612 }
import { readdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { createDevice } from '@fleetcast/device-sdk'

function setting(name, fallback) {
  const value = process.env[name] ?? fallback
  if (value === undefined) {
    console.error(`set ${name} (see the comment at the top of this file)`)
    process.exit(2)
  }
  return value
}

const THERMAL = process.env.THERMAL_DIR ?? '/sys/class/thermal'

/** The CPU's thermal zone (type cpu-thermal on a Pi), or the first zone; undefined when none. */
async function cpuThermalZone() {
  let zones
  try {
    zones = (await readdir(THERMAL)).filter((name) => name.startsWith('thermal_zone')).sort()
  } catch {
    return undefined
  }
  for (const zone of zones) {
    const type = await readFile(join(THERMAL, zone, 'type'), 'utf8').catch(() => '')
    if (/cpu/i.test(type)) return join(THERMAL, zone, 'temp')
  }
  return zones[0] === undefined ? undefined : join(THERMAL, zones[0], 'temp')
}

/** Degrees Celsius with one decimal (the kernel reports millidegrees), or null. */
async function cpuTemperature(path) {
  if (path === undefined) return null
  const milli = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
  return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : null
}

async function piModel() {
  const model = await readFile('/proc/device-tree/model', 'utf8').catch(() => os.hostname())
  return model.replaceAll('\0', '').trim()
}

const intervalMs = Number(setting('INTERVAL_MS', '10000'))
const device = createDevice({
  url: setting('FLEETCAST_URL'),
  deviceId: setting('DEVICE_ID'),
  secret: setting('DEVICE_SECRET'),
  dataDir: setting('DATA_DIR', '.fleetcast-device'),
  // Shown with the retained status on private-cache-device-{id}.
  birth: { app: 'pi-telemetry', model: await piModel() },
})

device.on('connected', ({ attempt }) => console.log(`connected (attempt ${attempt})`))
device.on('disconnected', ({ reason }) => console.log(`disconnected: ${reason}`))
device.on('reconnecting', ({ attempt, delayMs }) =>
  console.log(`reconnecting: attempt ${attempt} in ${delayMs} ms`),
)
device.on('error', (error) => console.error(`error: ${error.message}`))
device.on('queue.overflow', ({ dropped }) => console.warn(`queue full: dropped ${dropped} oldest`))
device.on('storage.recovered', (report) => console.warn('queue file repaired', report))

// A command the dashboard can send: event command.set-interval {"ms": 5000} on the device channel.
let timer
device.onCommand('set-interval', ({ ms }) => {
  if (!Number.isInteger(ms) || ms < 1000) throw new Error('ms must be an integer >= 1000')
  clearInterval(timer)
  timer = setInterval(sample, ms)
  return { intervalMs: ms }
})

const thermal = await cpuThermalZone()
async function sample() {
  const [load1, load5, load15] = os.loadavg()
  try {
    await device.telemetry({
      cpuTempC: await cpuTemperature(thermal),
      load1,
      load5,
      load15,
      memFreeMb: Math.round(os.freemem() / 2 ** 20),
    })
  } catch (error) {
    console.error(`telemetry not queued: ${error.message}`)
  }
}

await device.start()
console.log(`started; ${device.queue.messages} readings waiting from before`)
await sample()
timer = setInterval(sample, intervalMs)

// systemd stops services with SIGTERM: flush what we can, mark the device offline, exit.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    clearInterval(timer)
    const { flushed, pending } = await device.close({ timeoutMs: 5000 })
    console.log(flushed ? 'closed, all delivered' : `closed, ${pending} readings kept on disk`)
    process.exit(0)
  })
}
