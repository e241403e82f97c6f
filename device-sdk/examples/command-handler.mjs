#!/usr/bin/env node
// Commands with @fleetcast/device-sdk: a Raspberry Pi that blinks its activity LED, reports
// its uptime, and reboots on request.
//
//   FLEETCAST_URL=mqtt://gateway.local:1883 DEVICE_ID=pi-kitchen DEVICE_SECRET=... node command-handler.mjs
//
// From an app backend (the official `pusher` SDK pointed at the gateway):
//   await pusher.trigger('private-device-pi-kitchen', 'command.led', { on: true })
// Browsers subscribed to private-device-pi-kitchen then get `command.ack`:
//   { deviceId, topic, receivedAt, data: { id, status: 'ok', result: { led: 'on' } } }
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { createDevice } from '@fleetcast/device-sdk'

function setting(name, fallback) {
  const value = process.env[name] ?? fallback
  if (value === undefined) {
    console.error(`set ${name} (see the comment at the top of this file)`)
    process.exit(2)
  }
  return value
}

const LED = process.env.LED_PATH ?? '/sys/class/leds/ACT/brightness'
const device = createDevice({
  url: setting('FLEETCAST_URL'),
  deviceId: setting('DEVICE_ID'),
  secret: setting('DEVICE_SECRET'),
  dataDir: setting('DATA_DIR', '.fleetcast-device'),
  commands: { timeoutMs: 10_000 },
})

// The returned value becomes the ack's `result`; a throw becomes `{status: 'error', error}`.
device.onCommand('led', async (args) => {
  const on = args?.on
  if (typeof on !== 'boolean')
    throw Object.assign(new Error('args.on must be true or false'), { code: 'bad_args' })
  // Needs write access to the LED (root, or a udev rule); reported as an error otherwise.
  await writeFile(LED, on ? '1' : '0')
  return { led: on ? 'on' : 'off' }
})

device.onCommand('uptime', () => ({ seconds: Math.round(os.uptime()), load1: os.loadavg()[0] }))

// Commands run at most once, even across a restart: a reboot command that arrives again after
// the reboot (the gateway resending it) is answered from the journal and not run again.
device.onCommand('reboot', async (args, { expiresAt }) => {
  const delay = Number.isInteger(args?.delay) ? args.delay : 5
  if (process.env.ALLOW_REBOOT !== '1') return { rebooting: false, reason: 'ALLOW_REBOOT is not 1' }
  const { execFile } = await import('node:child_process')
  setTimeout(() => execFile('sudo', ['systemctl', 'reboot']), delay * 1000)
  return { rebooting: true, inSeconds: delay, expiresAt }
})

device.on('command', ({ name, id }) => console.log(`command ${name} (${id})`))
device.on('command.dropped', ({ reason, name, detail }) =>
  console.log(`dropped ${name ?? '?'}: ${reason} (${detail})`),
)
device.on('connected', () => console.log('connected; waiting for commands'))
device.on('error', (error) => console.error(`error: ${error.message}`))

await device.start()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await device.close({ timeoutMs: 5000 })
    process.exit(0)
  })
}
