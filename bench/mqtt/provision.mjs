import { importDist } from '../lib/gateway-dist.mjs'

/**
 * Provisions `n` devices into a new store file with the gateway's own provisioning (a scrypt hash
 * per device, so each has its own secret), eight at a time on the libuv pool. Returns the ids
 * and secrets; the store is closed, ready to be copied for each run. `entry` is the gateway's entry
 * point (a snapshot of gateway/dist).
 */
export async function provisionStore(path, app, n, prefix, entry) {
  const { loadConfig } = await import(entry)
  const { openStore } = await importDist('./store/open-store.js', entry)
  const { bootstrapApps } = await importDist('./fleet/bootstrap-apps.js', entry)
  const { provisionDevice } = await importDist('./fleet/provision-device.js', entry)
  const config = loadConfig({ env: {}, overrides: { store: { path }, apps: [app] } })
  const store = openStore(path)
  try {
    bootstrapApps(store, config.apps)
    const devices = new Array(n)
    let next = 0
    const worker = async () => {
      while (next < n) {
        const i = next++
        const id = `${prefix}${String(i).padStart(5, '0')}`
        const { secret } = await provisionDevice(store, { id, appId: app.id })
        devices[i] = { id, username: id, password: secret }
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    return devices
  } finally {
    store.close()
  }
}
