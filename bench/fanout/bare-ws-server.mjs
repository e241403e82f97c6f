import net from 'node:net'
import { WebSocketServer } from 'ws'
import { announceBaseline, BASELINE_CHANNEL } from '../lib/baseline-ready.mjs'

/**
 * The baseline: a bare `ws` server doing the gateway's fan-out work and nothing else. Each socket
 * gets a fake connection_established; a subscribe is answered without checking its signature.
 * Each line on the trigger port becomes the same frame the gateway sends, serialised once to
 * bytes and written to every socket subscribed to its channel as a text frame. A line is the
 * event's data for `tick` on private-device-bench-dev, or `<channel>\t<event>\t<data>`.
 */
const EVENT = 'tick'
/** Subscribed sockets by channel. */
const channels = new Map()
let nextId = 0

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
wss.on('connection', (ws) => {
  const mine = new Set()
  ws.on('error', () => {})
  ws.on('close', () => {
    for (const channel of mine) channels.get(channel)?.delete(ws)
  })
  ws.on('message', (data) => {
    const text = data.toString()
    if (!text.includes('"pusher:subscribe"')) return
    const channel = JSON.parse(text).data?.channel ?? BASELINE_CHANNEL
    if (!channels.has(channel)) channels.set(channel, new Set())
    channels.get(channel).add(ws)
    mine.add(channel)
    ws.send(
      JSON.stringify({
        event: 'pusher_internal:subscription_succeeded',
        channel,
        data: '{}',
      }),
    )
  })
  nextId++
  ws.send(
    JSON.stringify({
      event: 'pusher:connection_established',
      data: JSON.stringify({ socket_id: `${nextId}.${nextId}`, activity_timeout: 120 }),
    }),
  )
})

const TEXT = { binary: false }

function broadcast(line) {
  let channel = BASELINE_CHANNEL
  let event = EVENT
  let data = line
  if (line[0] !== '{') {
    const a = line.indexOf('\t')
    const b = line.indexOf('\t', a + 1)
    channel = line.slice(0, a)
    event = line.slice(a + 1, b)
    data = line.slice(b + 1)
  }
  const subscribers = channels.get(channel)
  if (!subscribers) return
  const frame = Buffer.from(JSON.stringify({ event, channel, data }))
  for (const ws of subscribers) ws.send(frame, TEXT)
}

const triggerServer = net.createServer((socket) => {
  socket.setNoDelay(true)
  let rest = ''
  socket.on('data', (chunk) => {
    const lines = (rest + chunk.toString('utf8')).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) broadcast(line)
  })
  socket.on('error', () => {})
})

await Promise.all([
  new Promise((resolve) => wss.once('listening', resolve)),
  new Promise((resolve) => triggerServer.listen(0, '127.0.0.1', resolve)),
])
announceBaseline({ wsPort: wss.address().port, triggerPort: triggerServer.address().port })
