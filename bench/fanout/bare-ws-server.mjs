import net from 'node:net'
import { WebSocketServer } from 'ws'

/**
 * The baseline: a bare `ws` server doing the gateway's fan-out work and nothing else. Each socket
 * gets a fake connection_established; a subscribe is answered without checking its signature.
 * Each line on the trigger port becomes the same frame the gateway sends, serialised once to
 * bytes and written to every subscribed socket as a text frame.
 */
const CHANNEL = 'private-device-bench-dev'
const EVENT = 'tick'
const subscribers = new Set()
let nextId = 0

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
wss.on('connection', (ws) => {
  ws.on('error', () => {})
  ws.on('close', () => subscribers.delete(ws))
  ws.on('message', (data) => {
    if (!data.toString().includes('"pusher:subscribe"')) return
    subscribers.add(ws)
    ws.send(
      JSON.stringify({
        event: 'pusher_internal:subscription_succeeded',
        channel: CHANNEL,
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

function broadcast(payload) {
  const frame = Buffer.from(JSON.stringify({ event: EVENT, channel: CHANNEL, data: payload }))
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
process.on('message', (message) => {
  if (message.cmd === 'exit') process.exit(0)
})
process.send({
  type: 'ready',
  ws: {
    host: '127.0.0.1',
    port: wss.address().port,
    key: 'bench-key',
    secret: 'bench-secret',
    channel: CHANNEL,
  },
  trigger: { kind: 'line', host: '127.0.0.1', port: triggerServer.address().port },
})
