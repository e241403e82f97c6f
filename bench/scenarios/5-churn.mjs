import { setTimeout as sleep } from 'node:timers/promises'
import { windowedCommand } from '../lib/cpu.mjs'
import { spawnPinned } from '../lib/processes.mjs'
import { fmt } from '../lib/report.mjs'
import {
  anyCredentials,
  gatewayStore,
  STREAM_CHANNEL,
  STREAM_DEVICE,
  STREAM_TOPIC,
  startServer,
} from '../lib/servers.mjs'
import { measureAtServerCpu, stepLine } from '../lib/steps.mjs'

/**
 * Scenario 5, churn. Two variants:
 * - `browser-churn`: R thin Pusher receivers on one device channel get a steady stream (for the
 *   gateway a device publishing QoS 0 to `devices/bench-dev/events/tick`, for the bare `ws`
 *   server lines on its trigger port; 100-byte payloads stamped with the send time in µs). First
 *   the stream alone, at the rate that puts the server near the profile's target CPU (the
 *   suite's primary figure, read there); then the same rate while browsers join the same channel
 *   at `joinsPerSec` (connect, upgrade, signed subscribe) and leave `holdMs` later (socket
 *   closed), so about joinsPerSec × holdMs of them are subscribed at any time. Reported: the
 *   receivers' p50/p99 without churn (the common figures) and with it, the joins completed per
 *   second and their latency, and the server CPU a join costs beyond the deliveries.
 * - `reconnect-storm`: D devices connected (authenticated against provisioned devices for the
 *   gateway), then every socket reset at once and every device reconnecting at once; reported:
 *   the time until the last CONNACK, the CONNACK latencies (from the connect call), the server's
 *   CPU over the storm and per reconnect. Gateway against bare aedes and a private Mosquitto.
 */
const VARIANT_SERVERS = {
  'browser-churn': ['gateway', 'bare-ws'],
  'reconnect-storm': ['gateway', 'aedes', 'mosquitto'],
}
const STORM_PREFIX = 'bench-storm-'
/** Deliveries/s of the first calibration step: about 20 % of a core for the gateway. */
const GUESS_PER_SEC = 20_000
/** A step passes when the window's deliveries reach this share of what was sent in it. */
const DELIVERED_SHARE = 0.97

/**
 * The quick profile leaves this scenario out: each run needs a calibrated stream, a window
 * without churn and one with it (after a hold time to fill the churning population), and the
 * storm its own fleet, which does not fit the suite's three minutes. `--full` runs both variants.
 */
function variants(profile) {
  if (!profile.full) return []
  return [
    {
      name: 'browser-churn',
      params: {
        receivers: 1000,
        joinsPerSec: 100,
        holdMs: 3000,
        payloadBytes: 100,
        warmupMs: 1000,
        windowMs: 3000,
        calibrationMs: 1500,
        drainMs: 3000,
      },
    },
    { name: 'reconnect-storm', params: { devices: 1000, concurrency: 100 } },
  ]
}

const store = (profile) =>
  gatewayStore(profile, { count: 1000, prefix: STORM_PREFIX, extra: [{ id: STREAM_DEVICE }] })

async function measure({ server, variant, profile, log }) {
  if (!VARIANT_SERVERS[variant.name].includes(server)) return []
  const stored = server === 'gateway' ? await store(profile) : null
  const target = await startServer(server, {
    profile,
    store: stored,
    label: `churn-${variant.name}`,
  })
  const generator = spawnPinned(
    new URL('churn/generator.mjs', import.meta.url),
    profile.cores.generator,
  )
  const cores = [profile.cores.server, profile.cores.generator]
  try {
    await generator.next('started')
    const run = variant.name === 'browser-churn' ? browserChurn : reconnectStorm
    return [
      await run({ server, params: variant.params, profile, log, target, stored, generator, cores }),
    ]
  } finally {
    await generator.stop()
    await target.stop()
  }
}

async function browserChurn({ server, params, profile, log, target, stored, generator, cores }) {
  const trigger =
    server === 'gateway'
      ? { ...target.trigger, credentials: stored.extra[0], topic: STREAM_TOPIC }
      : target.trigger
  const ready = await generator.request({
    cmd: 'setup',
    ws: target.ws,
    channel: STREAM_CHANNEL,
    trigger,
    receivers: params.receivers,
    payloadBytes: params.payloadBytes,
  })
  log(`  ${ready.receivers} receivers subscribed in ${fmt(ready.setupMs)} ms`)
  const phase = async (deliveriesPerSec, { calibration = false, churn = null } = {}) => {
    const step = await windowedCommand(
      generator,
      {
        cmd: 'phase',
        deliveriesPerSec,
        warmupMs: params.warmupMs,
        windowMs: calibration ? params.calibrationMs : params.windowMs,
        drainMs: params.drainMs,
        churn,
      },
      { pids: [target.pid], cores },
    )
    const why = [
      step.drained ? '' : 'not drained',
      step.closedReceivers ? `${step.closedReceivers} receivers closed` : '',
      step.deliveredShare < DELIVERED_SHARE
        ? `${fmt((1 - step.deliveredShare) * 100)} % of the window's deliveries missing`
        : '',
    ]
      .filter(Boolean)
      .join(', ')
    return { ...step, pass: why === '', why }
  }
  const { fixed, figures } = await measureAtServerCpu((rate, options) => phase(rate, options), {
    key: `churn:${server}`,
    guess: GUESS_PER_SEC,
    profile,
    log,
    unit: 'deliveries',
  })
  const calm = fixed.step
  const churn = await phase(calm.offeredPerSec, {
    churn: { joinsPerSec: params.joinsPerSec, holdMs: params.holdMs },
  })
  log(
    `${stepLine(churn, { label: 'churning', unit: 'deliveries' })}  joins ${fmt(churn.joinsPerSec)}/s ` +
      `(p99 ${fmt(churn.joinP99Us)} µs, ${churn.joinFailures} failed)`,
  )
  // What the churning browsers add to the server's CPU, over the joins: each join's handshake,
  // subscribe, the events it receives while subscribed, and its leave.
  const cpuUsPerJoin =
    churn.joinsPerSec > 0
      ? (((churn.serverCpuPct - calm.serverCpuPct) / 100) * 1e6) / churn.joinsPerSec
      : null
  return {
    ...figures,
    contended: figures.contended || churn.contentionPct > profile.contendedPct,
    pass: calm.pass && churn.pass,
    receivers: params.receivers,
    p50ChurnUs: churn.p50Us,
    p99ChurnUs: churn.p99Us,
    p999ChurnUs: churn.p999Us,
    p99ChangePct: calm.p99Us > 0 ? round((churn.p99Us / calm.p99Us - 1) * 100, 1) : null,
    serverCpuPctChurn: round(churn.serverCpuPct, 1),
    joinsPerSec: round(churn.joinsPerSec, 1),
    joinP50Us: churn.joinP50Us,
    joinP99Us: churn.joinP99Us,
    joinFailures: churn.joinFailures,
    cpuUsPerJoin: round(cpuUsPerJoin, 0),
    deliveredShareChurn: round(churn.deliveredShare, 4),
  }
}

async function reconnectStorm({ params, profile, log, target, stored, generator, cores }) {
  const credentials = stored ? stored.devices : anyCredentials(params.devices, STORM_PREFIX)
  const fleet = await generator.request({
    cmd: 'fleet',
    target: target.mqtt,
    credentials,
    concurrency: params.concurrency,
  })
  log(`  ${fleet.devices} devices connected in ${fmt(fleet.ms)} ms`)
  await sleep(300)
  const r = await windowedCommand(
    generator,
    { cmd: 'storm', target: target.mqtt, credentials },
    { pids: [target.pid], cores },
  )
  const seconds = r.ms / 1000
  log(
    `  storm: ${r.reconnected} of ${r.devices} reconnected in ${fmt(r.ms)} ms  CONNACK p50 ${fmt(r.p50Us)} µs  ` +
      `p99 ${fmt(r.p99Us)} µs  server CPU ${fmt(r.serverCpuPct)}%  ${r.retries} retries, ${r.failed} failed`,
  )
  return {
    cpuUsPerMsg: null,
    ratePerSec: Math.round(r.reconnected / seconds),
    p50Us: r.p50Us,
    p99Us: r.p99Us,
    p999Us: r.p999Us,
    serverCpuPct: round(r.serverCpuPct, 1),
    generatorCpuPct: round(r.generatorCpuPct, 1),
    generatorBound: r.generatorCpuPct > profile.generatorBoundPct,
    contended: r.contentionPct > profile.contendedPct,
    contentionPct: round(r.contentionPct, 1),
    pass: r.failed === 0,
    devices: r.devices,
    stormMs: Math.round(r.ms),
    cpuUsPerReconnect:
      r.serverCpuPct === null
        ? null
        : round(((r.serverCpuPct / 100) * seconds * 1e6) / r.devices, 0),
    retries: r.retries,
    failedReconnects: r.failed,
  }
}

const round = (v, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? null
    : Math.round(v * 10 ** digits) / 10 ** digits

export default {
  id: 'churn',
  number: 5,
  title: 'Churn: browsers joining and leaving under a stream; a device reconnect storm',
  servers: () => ['gateway', 'bare-ws', 'aedes', 'mosquitto'],
  variants,
  measure,
  notes(profile) {
    if (!profile.full) {
      return [
        'left out of the quick profile (a calibrated stream with and without churn, and a 1,000-device ' +
          'storm, take about a minute per run); run it with --full --scenarios churn',
      ]
    }
    const [churn] = variants(profile)
    const p = churn.params
    return [
      `browser-churn: ${fmt(p.receivers)} receivers on one channel; browsers join it at ${p.joinsPerSec}/s ` +
        `and leave ${p.holdMs / 1000} s later; the common figures are the stream without churn, ` +
        'the "churning" columns the same rate with it; CPU-µs/join is the extra server CPU over ' +
        'the joins, the events the churning browsers receive included',
      'reconnect-storm: 1,000 devices reset at once and reconnecting at once; msgs/s is reconnects per ' +
        'second over the storm, the latencies are CONNACK times from the connect call',
    ]
  },
  figures: [
    { key: 'p99ChurnUs', label: 'p99 µs churning' },
    { key: 'p99ChangePct', label: 'p99 change %' },
    { key: 'joinsPerSec', label: 'joins/s' },
    { key: 'joinP99Us', label: 'join p99 µs' },
    { key: 'cpuUsPerJoin', label: 'CPU-µs/join (its events too)', ratio: true },
    { key: 'serverCpuPctChurn', label: 'server CPU % churning' },
    { key: 'stormMs', label: 'storm ms', ratio: true },
    { key: 'cpuUsPerReconnect', label: 'CPU-µs/reconnect', ratio: true },
  ],
}
