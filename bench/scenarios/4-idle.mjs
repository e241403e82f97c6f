import { setTimeout as sleep } from 'node:timers/promises'
import { windowedCommand } from '../lib/cpu.mjs'
import { ensureFdLimit, settledMemory } from '../lib/memory.mjs'
import { spawnPinned } from '../lib/processes.mjs'
import { fmt, range } from '../lib/report.mjs'
import { anyCredentials, gatewayStore, startServer } from '../lib/servers.mjs'

/**
 * Scenario 4, idle capacity: what an idle connection costs the server in memory, and how fast
 * the server takes connections. Two variants:
 * - `browsers`: thin Pusher subscribers (raw TCP, hand-written upgrade), each subscribed to a
 *   private channel of its own (`private-device-idle-<i>`, signed with the app secret); gateway
 *   against the bare `ws` server (a set of sockets per channel, nothing else: the floor).
 * - `devices`: raw MQTT 3.1.1 sessions (clean session, keep-alive off) authenticated against
 *   devices provisioned in the gateway's store; gateway against bare aedes and a private
 *   Mosquitto (same CONNECT frames; they accept anyone).
 * Per run: a fresh server, `warm` connections first (so one-time costs such as JIT-compiled code,
 * buffer pools and V8's young generation growing to its working size are not charged to the
 * measured ones), the server's memory after two full GCs (`--expose-gc`; Mosquitto has none), then
 * `count` more connections (at most `concurrency` handshakes in flight, the server's CPU read over
 * exactly that window), a pause, and the memory again after two GCs. RSS per connection =
 * (RSS after − RSS before) / count: the marginal cost of one more idle connection.
 */
const VARIANT_SERVERS = {
  browsers: ['gateway', 'bare-ws'],
  devices: ['gateway', 'aedes', 'mosquitto'],
}
const KIB = 1024
const BROWSER_TARGET = 8 * KIB
const DEVICE_TARGET = 16 * KIB
const DEVICE_PREFIX = 'bench-idle-'
/** Descriptors a process needs beyond its connections (stdio, IPC, the store, listeners). */
const FD_MARGIN = 512

/**
 * Per run, `warm` connections warm the server up (its young generation and pools grow to their
 * working size there, a fixed cost that would otherwise be spread over the measured connections),
 * then `count` more are measured: 10,000 after 5,000 with --full, 2,000 after 2,000 in the quick
 * profile, where the RSS delta (about 10-20 MB) is within what the allocator's free lists and
 * heap growth move it by (several KB per connection either way): judge the targets on --full.
 */
const sizes = (profile) =>
  profile.full
    ? { total: 15_000, count: 10_000, warm: 5000, concurrency: 100, settleMs: 1500 }
    : { total: 4000, count: 2000, warm: 2000, concurrency: 100, settleMs: 500 }

function variants(profile) {
  const params = sizes(profile)
  return [
    { name: 'browsers', params },
    { name: 'devices', params },
  ]
}

async function measure({ server, variant, profile, log }) {
  if (!VARIANT_SERVERS[variant.name].includes(server)) return []
  const { count, warm, concurrency, settleMs } = variant.params
  const browsers = variant.name === 'browsers'
  const store =
    server === 'gateway'
      ? await gatewayStore(profile, { count: sizes(profile).total, prefix: DEVICE_PREFIX })
      : null
  const credentials = store ? store.devices : anyCredentials(count + warm, DEVICE_PREFIX)
  const target = await startServer(server, { profile, store, label: `idle-${variant.name}` })
  const generator = spawnPinned(
    new URL('idle/generator.mjs', import.meta.url),
    profile.cores.generator,
  )
  try {
    await generator.next('started')
    const needed = count + warm + FD_MARGIN
    const fds = [target.pid, generator.pid].map((pid) => ensureFdLimit(pid, needed))
    if (fds.some((f) => f.raised))
      log(`  open-file limit raised to ${fds.map((f) => f.limit).join(', ')}`)
    const open = (from, n, window) => ({
      cmd: 'open',
      kind: variant.name,
      ws: target.ws,
      channelPrefix: 'private-device-idle-',
      target: target.mqtt,
      credentials: browsers ? null : credentials.slice(from, from + n),
      count: n,
      concurrency,
      window,
    })
    await generator.request(open(0, warm, false))
    await sleep(settleMs)
    const before = await settledMemory(target.pid, target.proc)
    const r = await windowedCommand(generator, open(warm, count, true), {
      pids: [target.pid],
      cores: [profile.cores.server, profile.cores.generator],
    })
    await sleep(settleMs)
    const after = await settledMemory(target.pid, target.proc)
    const status = await generator.request({ cmd: 'status' })
    const seconds = r.ms / 1000
    const perConn = (key) =>
      before[key] === null || after[key] === null
        ? null
        : Math.round((after[key] - before[key]) / count)
    const row = {
      cpuUsPerMsg: null,
      ratePerSec: Math.round(count / seconds),
      p50Us: status.p50Us,
      p99Us: status.p99Us,
      p999Us: status.p999Us,
      serverCpuPct: round(r.serverCpuPct, 1),
      generatorCpuPct: round(r.generatorCpuPct, 1),
      generatorBound: r.generatorCpuPct > profile.generatorBoundPct,
      contended: r.contentionPct > profile.contendedPct,
      contentionPct: round(r.contentionPct, 1),
      connections: count,
      held: status.held,
      rssPerConnBytes: perConn('rss'),
      heapPerConnBytes: perConn('heapUsed'),
      heapTotalPerConnBytes: perConn('heapTotal'),
      newSpacePerConnBytes: perConn('newSpace'),
      externalPerConnBytes: perConn('external'),
      cpuUsPerConnect:
        r.serverCpuPct === null ? null : round(((r.serverCpuPct / 100) * seconds * 1e6) / count, 1),
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      gc: after.gc,
      closedByServer: status.closed,
    }
    log(
      `  ${fmt(count)} ${variant.name} in ${fmt(r.ms)} ms (${fmt(row.ratePerSec)}/s, p99 ${fmt(status.p99Us)} µs, ` +
        `server CPU ${fmt(r.serverCpuPct)}%): RSS ${fmt(before.rss / KIB)} -> ${fmt(after.rss / KIB)} KiB, ` +
        `${fmt(row.rssPerConnBytes)} B per connection` +
        (after.gc
          ? ` (heap used ${fmt(row.heapPerConnBytes)}, heap committed ${fmt(row.heapTotalPerConnBytes)} of which young generation ${fmt(row.newSpacePerConnBytes)})`
          : ' (no GC)') +
        (status.closed ? `; ${status.closed} closed by the server` : ''),
    )
    return [row]
  } finally {
    await generator.stop()
    await target.stop()
  }
}

const round = (v, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? null
    : Math.round(v * 10 ** digits) / 10 ** digits

/** Met when every gateway run of `variant` stays at or under `max` bytes of RSS per connection. */
function memoryTarget(description, variant, max) {
  return {
    description,
    check(rows) {
      const mine = rows.filter((r) => r.variant === variant && !r.error)
      const ours = mine.filter((r) => r.server === 'gateway').map((r) => r.rssPerConnBytes)
      if (ours.length === 0) return { met: null, detail: 'no gateway runs' }
      const baselines = [...new Set(mine.map((r) => r.server))]
        .filter((s) => s !== 'gateway')
        .map(
          (s) => `${s} ${range(mine.filter((r) => r.server === s).map((r) => r.rssPerConnBytes))}`,
        )
      return {
        met: ours.every((v) => v !== null && v <= max),
        detail:
          `gateway ${range(ours)} B per connection over ${range(mine.map((r) => r.connections))} ` +
          `connections (limit ${fmt(max)} B); ${baselines.join('; ')}`,
      }
    },
  }
}

export default {
  id: 'idle',
  number: 4,
  title: 'Idle capacity: memory per idle connection, connect rate',
  servers: (profile) => ['gateway', 'bare-ws', 'aedes', ...(profile.full ? ['mosquitto'] : [])],
  variants,
  measure,
  notes(profile) {
    const { total, count } = sizes(profile)
    return [
      `${fmt(total)} connections per run, the last ${fmt(count)} measured (the first ones warm ` +
        'the server up): B/conn and CPU-µs/connect are what one more idle connection costs; ' +
        'msgs/s and the latencies are connects per second and connect-to-subscribed (or CONNACK) times',
      ...(profile.full
        ? []
        : [
            'quick profile: 2,000 measured connections move RSS by 10-20 MB, within the allocator and ' +
              'heap-growth noise (several KB per connection): judge the memory targets with --full',
          ]),
      'browsers: gateway vs bare ws; devices: gateway vs aedes' +
        (profile.full ? ' and Mosquitto (no GC: RSS as it stands)' : ' (Mosquitto with --full)'),
    ]
  },
  figures: [
    { key: 'rssPerConnBytes', label: 'RSS B/conn', ratio: true },
    { key: 'heapPerConnBytes', label: 'heap B/conn', ratio: true },
    { key: 'cpuUsPerConnect', label: 'CPU-µs/connect', digits: 1, ratio: true },
  ],
  targets: [
    memoryTarget('≤ 8 KiB RSS per subscribed browser connection', 'browsers', BROWSER_TARGET),
    memoryTarget('≤ 16 KiB RSS per device connection', 'devices', DEVICE_TARGET),
  ],
}
