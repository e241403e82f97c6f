import { windowedCommand } from '../lib/cpu.mjs'
import { sampleProcess } from '../lib/memory.mjs'
import { spawnPinned } from '../lib/processes.mjs'
import { fmt, range } from '../lib/report.mjs'
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
 * Scenario 6, slow consumer: one client stops reading while everyone else receives a steady
 * stream (1 KB payloads stamped with the send time in µs, from one device). Variants:
 * - `browser`: the stuck client is a browser (a thin Pusher subscriber whose socket is paused);
 *   the others are browsers on the same channel. Gateway against the bare `ws` server, which
 *   buffers for the stuck socket without a bound.
 * - `device`: the stuck client is a device (a raw MQTT session subscribed to the stream topic at
 *   QoS 0, socket paused); the others are devices subscribed the same way and, on the gateway,
 *   browsers on the device's channel. Gateway devices are provisioned with an ACL that lets them
 *   subscribe to `devices/bench-dev/events/#`. Gateway against bare aedes.
 * Per run: the stream alone at the rate that puts the server near the profile's target CPU
 * (calibrated; the common figures, the others' latency before the stall), then the same rate
 * with the stuck client paused for `stallMs`: the others' latency by send time over the stall
 * (events that arrive late count late, those that never arrive count as the time waited), the
 * server's RSS sampled every 100 ms, and its descriptor count, whose first drop is the server
 * closing the stuck client.
 */
const VARIANT_SERVERS = {
  browser: ['gateway', 'bare-ws'],
  device: ['gateway', 'aedes'],
}
const MONITOR_PREFIX = 'bench-monitor-'
const FILTER = `devices/${STREAM_DEVICE}/events/#`
const PLACEHOLDER = '$' + '{deviceId}'
/** Devices that may also subscribe to the stream device's events. */
const MONITOR_ACL = {
  publish: [`devices/${PLACEHOLDER}/#`],
  subscribe: [`devices/${PLACEHOLDER}/commands/#`, FILTER],
}
const GUESS_PER_SEC = 10_000
const MIB = 1024 * 1024
/** Target: the others' p99 during the stall at most this much above the p99 before it. */
const MAX_P99_INCREASE_PCT = 20
/** Memory counts as bounded when RSS grew less than this over the stall... */
const MAX_RSS_GROWTH = 32 * MIB
/** ...and, unless the server closed the stuck client, less than this over its second half. */
const MAX_LATE_GROWTH = 2 * MIB
/** A step passes when the others got this share of the window's events. */
const DELIVERED_SHARE = 0.97

function variants(profile) {
  const full = profile.full
  const common = {
    payloadBytes: 4096,
    browsers: 10,
    warmupMs: full ? 1000 : 300,
    windowMs: full ? 3000 : 1000,
    calibrationMs: full ? 1500 : 500,
    drainMs: 3000,
  }
  const browser = {
    name: 'browser',
    params: { ...common, devices: 0, stallMs: full ? 15_000 : 2000 },
  }
  // The gateway's mqtt.drainTimeout is 30 s (bare aedes: 60 s): the stall outlasts the first.
  const device = { name: 'device', params: { ...common, devices: 5, stallMs: 40_000 } }
  return full ? [browser, device] : [browser]
}

const store = (profile) =>
  gatewayStore(profile, {
    prefix: MONITOR_PREFIX,
    extra: [
      { id: STREAM_DEVICE },
      ...anyCredentials(6, MONITOR_PREFIX).map(({ id }) => ({ id, acl: MONITOR_ACL })),
    ],
  })

async function measure({ server, variant, profile, log }) {
  if (!VARIANT_SERVERS[variant.name].includes(server)) return []
  const params = variant.params
  const stored = server === 'gateway' ? await store(profile) : null
  const target = await startServer(server, {
    profile,
    store: stored,
    label: `slow-${variant.name}`,
  })
  const generator = spawnPinned(
    new URL('slow-consumer/generator.mjs', import.meta.url),
    profile.cores.generator,
  )
  const cores = [profile.cores.server, profile.cores.generator]
  try {
    await generator.next('started')
    const monitors = stored ? stored.extra.slice(1) : anyCredentials(6, MONITOR_PREFIX)
    const trigger =
      target.trigger.kind === 'mqtt'
        ? {
            ...target.trigger,
            credentials: stored ? stored.extra[0] : anyCredentials(1, 'bench-source-')[0],
            topic: STREAM_TOPIC,
          }
        : target.trigger
    const ready = await generator.request({
      cmd: 'setup',
      ws: target.ws,
      channel: STREAM_CHANNEL,
      mqtt: target.mqtt,
      filter: FILTER,
      trigger,
      others: {
        browsers: target.ws ? params.browsers : 0,
        devices:
          target.mqtt && variant.name === 'device' ? monitors.slice(1, 1 + params.devices) : [],
        stuckDevice: monitors[0],
      },
      stuck: variant.name,
      payloadBytes: params.payloadBytes,
    })
    log(
      `  others: ${ready.browsers} browsers, ${ready.devices} devices; one ${ready.stuck} to stall ` +
        `(set up in ${fmt(ready.setupMs)} ms)`,
    )
    const phase = async (deliveriesPerSec, { calibration = false, stall = false } = {}) => {
      const message = {
        cmd: 'phase',
        deliveriesPerSec,
        warmupMs: stall ? 300 : params.warmupMs,
        windowMs: stall ? params.stallMs : calibration ? params.calibrationMs : params.windowMs,
        drainMs: params.drainMs,
        stall,
      }
      const sampler = sampleProcess(target.pid, 100)
      const step = await windowedCommand(generator, message, { pids: [target.pid], cores })
      const samples = sampler.stop()
      const why = [
        step.drained ? '' : 'not drained',
        step.closedOthers ? `${step.closedOthers} others closed` : '',
        step.othersDeliveredShare < DELIVERED_SHARE
          ? `${fmt((1 - step.othersDeliveredShare) * 100)} % of the others' deliveries missing`
          : '',
      ]
        .filter(Boolean)
        .join(', ')
      return { ...step, pass: why === '', why, samples }
    }
    const { fixed, figures } = await measureAtServerCpu((rate, options) => phase(rate, options), {
      key: `slow-consumer:${server}:${variant.name}`,
      guess: GUESS_PER_SEC,
      profile,
      log,
      unit: 'deliveries',
    })
    const calm = fixed.step
    const stalled = await phase(calm.offeredPerSec, { stall: true })
    log(stepLine(stalled, { label: 'stalled', unit: 'deliveries' }))
    log(
      `  others' worst latency (ms) per ${stalled.slotMs} ms of the stall: ${stalled.worstMsPerSlot.join(' ')}`,
    )
    const memory = stallMemory(stalled)
    log(
      `  RSS ${fmt(memory.rssBeforeBytes / 1024)} KiB before, +${fmt(memory.rssGrowthBytes / 1024)} KiB at most ` +
        `(+${fmt(memory.rssLateGrowthBytes / 1024)} KiB over the second half); stuck ${variant.name} ` +
        (memory.stuckClosedAfterMs === null
          ? 'still connected at the end of the stall'
          : `disconnected by the server after ${fmt(memory.stuckClosedAfterMs)} ms`) +
        (stalled.stuckCloseCode
          ? ` (it read close code ${stalled.stuckCloseCode} once resumed)`
          : '') +
        `; it got ${fmt(stalled.stuckReceivedInWindow)} events of the stall window`,
    )
    return [
      {
        ...figures,
        contended: figures.contended || stalled.contentionPct > profile.contendedPct,
        pass: calm.pass,
        others: ready.browsers + ready.devices,
        stallMs: params.stallMs,
        p50StallUs: stalled.p50Us,
        p99StallUs: stalled.p99Us,
        p999StallUs: stalled.p999Us,
        p99ChangePct: calm.p99Us > 0 ? round((stalled.p99Us / calm.p99Us - 1) * 100, 1) : null,
        p99BrowsersStallUs: stalled.p99BrowsersUs,
        p99DevicesStallUs: stalled.p99DevicesUs,
        othersDeliveredShareStall: round(stalled.othersDeliveredShare, 4),
        serverCpuPctStall: round(stalled.serverCpuPct, 1),
        ...memory,
        stuckReceivedInStall: stalled.stuckReceivedInWindow,
        stuckClosedSeenByClient: stalled.stuckClosed,
        stuckCloseCode: stalled.stuckCloseCode,
      },
    ]
  } finally {
    await generator.stop()
    await target.stop()
  }
}

/**
 * RSS over the stall window, from the sampler's series, and when the server's descriptor count
 * first dropped below what it held as the stall began (it closed the stuck client).
 */
function stallMemory(step) {
  const t0 = step.windowStartEpochMs
  const t1 = t0 + step.seconds * 1000
  const samples = step.samples.filter((s) => s.rss !== null)
  const inWindow = samples.filter((s) => s.epochMs >= t0 && s.epochMs <= t1)
  const before = samples.filter((s) => s.epochMs <= t0).at(-1) ?? inWindow[0]
  if (!before || inWindow.length === 0) {
    return {
      rssBeforeBytes: null,
      rssGrowthBytes: null,
      rssLateGrowthBytes: null,
      rssEndBytes: null,
      stuckClosedAfterMs: null,
    }
  }
  const mid = t0 + (t1 - t0) / 2
  const atMid = inWindow.filter((s) => s.epochMs <= mid).at(-1) ?? before
  const max = Math.max(...inWindow.map((s) => s.rss))
  const lateMax = Math.max(...inWindow.filter((s) => s.epochMs >= mid).map((s) => s.rss), atMid.rss)
  const drop = step.samples.find((s) => s.epochMs > t0 && s.fds !== null && s.fds < before.fds)
  return {
    rssBeforeBytes: before.rss,
    rssGrowthBytes: max - before.rss,
    rssLateGrowthBytes: lateMax - atMid.rss,
    rssEndBytes: inWindow.at(-1).rss,
    stuckClosedAfterMs: drop ? Math.round(drop.epochMs - t0) : null,
  }
}

const round = (v, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? null
    : Math.round(v * 10 ** digits) / 10 ** digits

const gatewayRows = (rows) => rows.filter((r) => r.server === 'gateway' && !r.error)

export default {
  id: 'slow-consumer',
  number: 6,
  title: 'Slow consumer: one browser or device stops reading',
  servers: () => ['gateway', 'bare-ws', 'aedes'],
  variants,
  measure,
  notes(profile) {
    const stall = (name) => variants({ full: true }).find((v) => v.name === name).params.stallMs
    return [
      'the common figures are the others before the stall, the "stalled" columns the same rate ' +
        'during it (by send time: late events count late, lost ones as the time waited); RSS ' +
        'growth is over the stall; "disconnected ms" is when the server’s descriptor for the stuck client closed; the close code the stuck client read once resumed is in the JSON (stuckCloseCode)',
      profile.full
        ? `stalls: browser ${stall('browser') / 1000} s, device ${stall('device') / 1000} s ` +
          '(past the gateway mqtt.drainTimeout of 30 s, not bare aedes’ default of 60 s)'
        : `quick profile: the browser variant only, a ${variants(profile)[0].params.stallMs / 1000} s ` +
          'stall; the device variant needs a stall past mqtt.drainTimeout (30 s) and runs with --full',
    ]
  },
  figures: [
    { key: 'p99StallUs', label: 'p99 µs stalled' },
    { key: 'p99ChangePct', label: 'p99 change %' },
    { key: 'othersDeliveredShareStall', label: 'delivered share stalled', digits: 3 },
    { key: 'rssGrowthBytes', label: 'RSS growth B' },
    { key: 'stuckClosedAfterMs', label: 'disconnected ms' },
    { key: 'serverCpuPctStall', label: 'server CPU % stalled' },
  ],
  targets: [
    {
      description: `a stuck client raises the others' p99 by less than ${MAX_P99_INCREASE_PCT} % (gateway)`,
      check(rows) {
        const ours = gatewayRows(rows)
        if (ours.length === 0) return { met: null, detail: 'no gateway runs' }
        const variantsSeen = [...new Set(ours.map((r) => r.variant))]
        return {
          met: ours.every((r) => r.p99ChangePct !== null && r.p99ChangePct < MAX_P99_INCREASE_PCT),
          detail: variantsSeen
            .map((v) => {
              const mine = ours.filter((r) => r.variant === v)
              const change = range(
                mine.map((r) => r.p99ChangePct),
                1,
              )
              const before = range(mine.map((r) => r.p99Us))
              const during = range(mine.map((r) => r.p99StallUs))
              return `${v}: ${change} % (p99 ${before} µs before, ${during} µs stalled)`
            })
            .join('; '),
        }
      },
    },
    {
      description: "the gateway's memory stays bounded while a client is stuck",
      check(rows) {
        const ours = gatewayRows(rows)
        if (ours.length === 0) return { met: null, detail: 'no gateway runs' }
        const bounded = (r) =>
          r.rssGrowthBytes !== null &&
          r.rssGrowthBytes < MAX_RSS_GROWTH &&
          (r.stuckClosedAfterMs !== null ||
            r.stuckCloseCode !== null ||
            r.rssLateGrowthBytes < MAX_LATE_GROWTH)
        const variantsSeen = [...new Set(ours.map((r) => r.variant))]
        return {
          met: ours.every(bounded),
          detail: variantsSeen
            .map((v) => {
              const mine = ours.filter((r) => r.variant === v)
              const closed = mine.filter((r) => r.stuckClosedAfterMs !== null)
              const codes = [...new Set(mine.map((r) => r.stuckCloseCode).filter(Boolean))]
              const growth = range(
                mine.map((r) => r.rssGrowthBytes / MIB),
                1,
              )
              return (
                `${v}: RSS +${growth} MiB, stuck client disconnected in ` +
                `${closed.length}/${mine.length} runs` +
                (closed.length
                  ? ` after ${range(closed.map((r) => r.stuckClosedAfterMs))} ms`
                  : '') +
                (codes.length ? `, close code ${codes.join(', ')} sent` : '')
              )
            })
            .join('; '),
        }
      },
    },
  ],
}
