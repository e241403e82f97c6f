import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** The Mosquitto daemon already running on the machine (not started, not pinned by us). */
export function systemMosquitto(host = '127.0.0.1', port = 1883) {
  let pid = null
  try {
    pid = Number(readFileSync('/run/mosquitto/mosquitto.pid', 'latin1').trim()) || null
  } catch {}
  return { host, port, pid, pinned: false, stop: async () => {} }
}

async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function untilListening(port, maxMs) {
  const deadline = performance.now() + maxMs
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (performance.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`)
    await sleep(50)
  }
}

/**
 * A private Mosquitto (the same binary as the daemon) pinned to `core` with taskset: anonymous,
 * no persistence, no log, on a free port of 127.0.0.1. Stopped by its pid.
 */
export async function pinnedMosquitto(core, dir) {
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`,
  )
  const proc = spawn('taskset', ['-c', String(core), 'mosquitto', '-c', conf], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  await untilListening(port, 5000)
  return {
    host: '127.0.0.1',
    port,
    pid: proc.pid,
    pinned: true,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
        await exited
      }
    },
  }
}
