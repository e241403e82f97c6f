import net from 'node:net'
import { Aedes } from 'aedes'

/**
 * Baseline: the aedes the gateway embeds, with no hooks (every client and topic allowed, no
 * authentication, no packet-size guard) and its in-memory persistence, on plain TCP.
 */
const broker = await Aedes.createBroker()
const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  broker.handle(socket)
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
process.on('message', (message) => {
  if (message.cmd === 'exit') process.exit(0)
})
process.send({ type: 'ready', host: '127.0.0.1', port: server.address().port })
