import { createHash, createHmac } from 'node:crypto'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Histogram } from '../lib/histogram.mjs'
import { serveCommands } from '../lib/processes.mjs'
import { openSubscribers } from '../lib/pusher-subscribers.mjs'

/**
 * The REST load generator, a child of run.mjs pinned to its own core. It holds C keep-alive TCP
 * connections that carry pipelined, hand-written HTTP/1.1 requests, and (gateway only) S thin
 * WebSocket subscribers on the channel the requests trigger.
 *
 * Every request is signed as the Pusher SDKs sign (auth_timestamp, body_md5, HMAC-SHA256), over a
 * body with its own sequence number, so no two requests of an invocation share a body_md5 or a
 * signature. Signing costs the generator about 8 µs a request, so the requests of a step are
 * signed before it starts (their auth_timestamp is then seconds old, well inside the gateway's
 * 600 s window) and written from per-connection buffers without copying.
 * Commands: `setup`, `burst`, `step`.
 */
const latency = new Histogram()
const endToEnd = new Histogram()
let recording = false
let target
let connections = []
let subscribers = []
let nextSeq = 0
/** Sequence numbers of the current batch start here; sendAt[seq - base] is their write time. */
let base = 0
let sendAt = new Float64Array(0)
let deliveries = 0
let deliveriesInWindow = 0
let inWindow = false
let responsesInWindow = 0
let windowStartMs = Number.POSITIVE_INFINITY

const nowMs = () => performance.now()
const ORIGIN_MS = performance.timeOrigin

function onEvent(nowUs, seq) {
  deliveries++
  if (inWindow) deliveriesInWindow++
  const at = sendAt[seq - base]
  if (recording && at >= windowStartMs) endToEnd.record(nowUs - (ORIGIN_MS + at) * 1000)
}

/** One signed POST /apps/{id}/events request, as text. */
function signedRequest(seq) {
  const { appId, key, secret, channel, host, port } = target
  const path = `/apps/${appId}/events`
  const body = `{"name":"tick","channel":"${channel}","data":"{\\"seq\\":${seq},\\"celsius\\":21.5,\\"humidity\\":40.2}"}`
  const md5 = createHash('md5').update(body).digest('hex')
  const query = `auth_key=${key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5}`
  const signature = createHmac('sha256', secret).update(`POST\n${path}\n${query}`).digest('hex')
  return (
    `POST ${path}?${query}&auth_signature=${signature} HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  )
}

/** A keep-alive connection; responses come back in request order (HTTP/1.1 pipelining). */
class Connection {
  sent = 0
  received = 0
  ok = 0
  errors = 0
  firstError = null
  closed = false
  pending = null
  /** Pre-signed requests: one buffer, request i at [offsets[i], offsets[i + 1]), seq seqs[i]. */
  requests = Buffer.alloc(0)
  offsets = new Uint32Array(1)
  seqs = new Uint32Array(0)
  next = 0
  /** Write time of each request of the batch, in order. */
  times = new Float64Array(0)

  constructor() {
    this.socket = net.connect({ host: target.host, port: target.port, noDelay: true })
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve)
      this.socket.once('error', reject)
    })
    this.socket.on('data', (chunk) => this.#onData(chunk))
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
    })
  }

  load(seqs) {
    const texts = Array.from(seqs, signedRequest)
    this.offsets = new Uint32Array(texts.length + 1)
    for (let i = 0; i < texts.length; i++) this.offsets[i + 1] = this.offsets[i] + texts[i].length
    this.requests = Buffer.from(texts.join(''), 'latin1')
    this.seqs = seqs
    this.times = new Float64Array(seqs.length)
    this.next = 0
    this.sent = 0
    this.received = 0
    this.ok = 0
    this.errors = 0
  }

  /** Writes the next `count` pre-signed requests in one write; false when none are left. */
  write(count) {
    const from = this.next
    const to = Math.min(from + count, this.seqs.length)
    if (to === from) return false
    const at = nowMs()
    for (let i = from; i < to; i++) {
      this.times[i] = at
      sendAt[this.seqs[i] - base] = at
    }
    this.next = to
    this.sent += to - from
    this.socket.write(this.requests.subarray(this.offsets[from], this.offsets[to]))
    return to - from === count
  }

  #onData(chunk) {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = null
    let off = 0
    while (off < buf.length) {
      const end = buf.indexOf('\r\n\r\n', off, 'latin1')
      if (end < 0) break
      const head = buf.toString('latin1', off, end)
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN)
      if (Number.isNaN(length)) throw new Error(`response without content-length: ${head}`)
      if (end + 4 + length > buf.length) break
      const status = Number(head.slice(9, 12))
      if (status === 200) this.ok++
      else {
        this.errors++
        this.firstError ??= `${status} ${buf.toString('utf8', end + 4, end + 4 + length)}`
      }
      const at = this.times[this.received]
      if (recording && at >= windowStartMs) latency.record((nowMs() - at) * 1000)
      this.received++
      if (inWindow) responsesInWindow++
      off = end + 4 + length
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off))
  }
}

async function setup(options) {
  target = options.target
  subscribers = target.subscribe
    ? await openSubscribers({ ...target.subscribe, n: options.subscribers, field: 'seq', onEvent })
    : []
  await ensureConnections(options.connections)
  return { subscribers: subscribers.length, connections: connections.length }
}

/** Replaces connections the server closed (keep-alive timeout while the driver waited). */
async function ensureConnections(count = connections.length) {
  connections = connections.filter((c) => !c.closed)
  while (connections.length < count) connections.push(new Connection())
  await Promise.all(connections.map((c) => c.opened))
}

/** Signs `total` requests for this batch, dealt round-robin to the connections. */
function load(total) {
  const c = connections.length
  const per = Math.ceil(total / c)
  base = nextSeq
  sendAt = new Float64Array(per * c)
  connections.forEach((conn, k) => {
    conn.load(Uint32Array.from({ length: per }, (_, i) => base + i * c + k))
  })
  nextSeq += per * c
  deliveries = 0
  return per
}

const inFlight = () => connections.reduce((a, c) => a + (c.sent - c.received), 0)
const sum = (key) => connections.reduce((a, c) => a + c[key], 0)

async function untilAnswered(maxMs) {
  const start = nowMs()
  while (inFlight() > 0 && !connections.some((c) => c.closed) && nowMs() - start < maxMs)
    await sleep(1)
  return { drained: inFlight() === 0, drainMs: Math.round(nowMs() - start) }
}

/** Waits until every answered request has reached every subscriber. */
async function untilDelivered(maxMs) {
  const start = nowMs()
  const expected = () => sum('ok') * subscribers.length
  while (deliveries < expected() && nowMs() - start < maxMs) await sleep(1)
  return deliveries >= expected()
}

/** `count` requests written at once; the time until the last answer bounds capacity. */
async function burst({ count, maxMs }) {
  await untilAnswered(maxMs)
  await ensureConnections()
  const per = load(count)
  const start = nowMs()
  for (const conn of connections) conn.write(per)
  const { drained } = await untilAnswered(maxMs)
  const seconds = (nowMs() - start) / 1000
  await untilDelivered(2000)
  return {
    drained,
    requestsPerSec: (per * connections.length) / seconds,
    errors: sum('errors'),
    firstError: connections.find((c) => c.firstError)?.firstError ?? null,
  }
}

/** Open loop at `ratePerSec`, spread over the connections every millisecond; then drain. */
async function step({ ratePerSec, warmupMs, windowMs, drainMs }) {
  await untilAnswered(drainMs)
  await ensureConnections()
  const prepareStart = nowMs()
  load(Math.ceil((ratePerSec * (warmupMs + windowMs + 100)) / 1000) + connections.length)
  const prepareMs = Math.round(nowMs() - prepareStart)
  let exhausted = false
  const t0 = nowMs()
  let scheduled = 0
  let rotate = 0
  const pump = () => {
    const due = Math.floor(((nowMs() - t0) * ratePerSec) / 1000) - scheduled
    if (due <= 0) return
    scheduled += due
    const c = connections.length
    const even = Math.floor(due / c)
    let extra = due % c
    for (let k = 0; k < c; k++) {
      const conn = connections[(rotate + k) % c]
      const count = even + (extra > 0 ? 1 : 0)
      if (extra > 0) extra--
      if (count > 0 && !conn.closed && !conn.write(count)) exhausted = true
    }
    rotate = (rotate + 1) % c
  }
  const timer = setInterval(pump, 1)
  await sleep(warmupMs)
  pump()
  latency.reset()
  endToEnd.reset()
  windowStartMs = nowMs()
  recording = true
  inWindow = true
  responsesInWindow = 0
  deliveriesInWindow = 0
  const begin = { at: nowMs(), sent: sum('sent'), cpu: process.cpuUsage() }
  process.send({ type: 'window-start' })
  await sleep(windowMs)
  pump()
  const end = { at: nowMs(), sent: sum('sent'), cpu: process.cpuUsage(begin.cpu) }
  inWindow = false
  process.send({ type: 'window-end' })
  clearInterval(timer)
  const { drained, drainMs: drainedMs } = await untilAnswered(drainMs)
  const delivered = await untilDelivered(drainMs)
  recording = false
  windowStartMs = Number.POSITIVE_INFINITY
  const seconds = (end.at - begin.at) / 1000
  return {
    seconds,
    offeredPerSec: ratePerSec,
    sentPerSec: (end.sent - begin.sent) / seconds,
    requestsPerSec: responsesInWindow / seconds,
    deliveriesPerSec: deliveriesInWindow / seconds,
    p50Us: latency.quantile(0.5),
    p99Us: latency.quantile(0.99),
    e2eP50Us: endToEnd.quantile(0.5),
    e2eP99Us: endToEnd.quantile(0.99),
    generatorCpuPct: ((end.cpu.user + end.cpu.system) / 1e6 / seconds) * 100,
    prepareMs,
    exhausted,
    drained,
    drainMs: drainedMs,
    delivered,
    errors: sum('errors'),
    firstError: connections.find((c) => c.firstError)?.firstError ?? null,
    closed: connections.filter((c) => c.closed).length,
  }
}

serveCommands({ setup, burst, step }, () => {
  for (const c of connections) c.socket.destroy()
  for (const s of subscribers) s.close()
})
process.send({ type: 'started' })
