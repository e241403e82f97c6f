import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { provisionStore } from '../mqtt/provision.mjs'
import { importDist } from './gateway-dist.mjs'
import { MEMORY_NODE_ARGS } from './memory.mjs'
import { pinnedMosquitto } from './mosquitto.mjs'
import { spawnPinned } from './processes.mjs'

/**
 * Servers under test for the suite's scenarios, each started fresh on the server core and
 * stopped by `stop()`:
 * - `gateway`: the compiled gateway (the runner's snapshot) with its defaults and the default
 *   topic contract (bench/lib/gateway-server.mjs with no uplink rules), on a copy of a store
 *   provisioned once per invocation (`gatewayStore`);
 * - `bare-ws`: the bare `ws` broadcast server (bench/fanout/bare-ws-server.mjs): a fake Pusher
 *   handshake, a set of sockets per channel, each trigger line serialised once and sent to the
 *   channel's sockets;
 * - `aedes`: bare aedes, no hooks (bench/mqtt/aedes-server.mjs);
 * - `mosquitto`: a private Mosquitto pinned to the server core (bench/lib/mosquitto.mjs).
 * Node servers run with MEMORY_NODE_ARGS, so `settledMemory(pid, proc)` can collect first.
 * Resolves to `{ pid, proc, ws, mqtt, trigger, stop }`: `ws` { host, port, key, secret } for
 * Pusher clients, `mqtt` { host, port }, `trigger` { kind: 'mqtt' | 'line', host, port }.
 */
export const APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-0123456789' }
/** The device whose events the stream scenarios send, and the channel they arrive on. */
export const STREAM_DEVICE = 'bench-dev'
export const STREAM_CHANNEL = `private-device-${STREAM_DEVICE}`
export const STREAM_TOPIC = `devices/${STREAM_DEVICE}/events/tick`

const here = (file) => new URL(file, import.meta.url)

/**
 * A store with `count` devices `${prefix}00000`… and the devices of `extra` ({ id, acl? }: an
 * ACL as `fleetcast devices add` takes it), provisioned once per invocation with the gateway's
 * own provisioning. Resolves to { path, devices, extra }, each device { id, clientId, username,
 * password }.
 */
export function gatewayStore(profile, { count = 0, prefix = 'bench-', extra = [] }) {
  const key = `store:${prefix}:${count}:${extra.map((d) => d.id).join(',')}`
  return profile.once(key, async () => {
    const dir = mkdtempSync(join(profile.workDir, 'store-'))
    const path = join(dir, 'store.db')
    const entry = profile.gateway.entry
    const devices = (await provisionStore(path, APP, count, prefix, entry)).map(credentialsOf)
    const { openStore } = await importDist('./store/open-store.js', entry)
    const { provisionDevice } = await importDist('./fleet/provision-device.js', entry)
    const store = openStore(path)
    try {
      const added = extra.map(({ id, acl }) => {
        const { secret } = provisionDevice(store, { id, appId: APP.id, acl })
        return credentialsOf({ id, username: id, password: secret })
      })
      return { path, devices, extra: added }
    } finally {
      store.close()
    }
  })
}

const credentialsOf = ({ id, username, password }) => ({
  id,
  clientId: id,
  username,
  password,
})

/** Credentials for brokers that take anyone (aedes, Mosquitto): the same CONNECT sizes. */
export function anyCredentials(count, prefix = 'bench-') {
  return Array.from({ length: count }, (_, i) => {
    const id = `${prefix}${String(i).padStart(5, '0')}`
    return { id, clientId: id, username: id, password: 'x'.repeat(43) }
  })
}

/**
 * Starts `server` for one measurement. `store`: a gatewayStore() result (gateway only);
 * `label`: names the --cpu-prof directory when profiling.
 */
export async function startServer(server, { profile, store, label = server }) {
  const core = profile.cores.server
  if (server === 'mosquitto') {
    const dir = mkdtempSync(join(profile.workDir, 'mosquitto-'))
    const m = await pinnedMosquitto(core, dir).catch((error) => {
      rmSync(dir, { recursive: true, force: true })
      throw error
    })
    const mqtt = { host: m.host, port: m.port }
    return {
      pid: m.pid,
      proc: null,
      mqtt,
      trigger: { kind: 'mqtt', ...mqtt },
      async stop() {
        await m.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  if (server === 'gateway') {
    const dir = mkdtempSync(join(profile.workDir, 'gateway-'))
    const path = join(dir, 'store.db')
    copyFileSync(store.path, path)
    const proc = spawnPinned(here('gateway-server.mjs'), core, {
      args: [path, JSON.stringify(APP), '', profile.gateway.entry],
      nodeArgs: [...MEMORY_NODE_ARGS, ...profile.nodeArgs(server, label)],
    })
    const stop = async () => {
      await proc.stop()
      rmSync(dir, { recursive: true, force: true })
    }
    const ready = await proc.next('ready').catch(async (error) => {
      await stop()
      throw error
    })
    return {
      pid: proc.pid,
      proc,
      ws: ready.ws,
      mqtt: ready.mqtt,
      trigger: { kind: 'mqtt', ...ready.mqtt },
      stop,
    }
  }
  const script = { 'bare-ws': '../fanout/bare-ws-server.mjs', aedes: '../mqtt/aedes-server.mjs' }[
    server
  ]
  if (!script) throw new Error(`unknown server ${server}`)
  const proc = spawnPinned(here(script), core, { nodeArgs: MEMORY_NODE_ARGS })
  const ready = await proc.next('ready')
  if (server === 'aedes') {
    const mqtt = { host: ready.host, port: ready.port }
    return {
      pid: proc.pid,
      proc,
      mqtt,
      trigger: { kind: 'mqtt', ...mqtt },
      stop: () => proc.stop(),
    }
  }
  const { host, port, key, secret } = ready.ws
  return {
    pid: proc.pid,
    proc,
    ws: { host, port, key, secret },
    trigger: ready.trigger,
    stop: () => proc.stop(),
  }
}
