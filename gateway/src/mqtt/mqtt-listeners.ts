import type { IncomingMessage } from 'node:http'
import { createServer as createTcpServer, type Server } from 'node:net'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer } from 'node:tls'
import type { Aedes } from 'aedes'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { Config } from '../config/schema.js'
import type { UpgradeRoute } from '../http-server.js'
import { readTlsFile } from '../tls-files.js'

/**
 * Every way a device reaches the broker: TCP, TLS on its own port, and WebSocket at `/mqtt` on the
 * HTTP port. aedes' handle is wrapped by the conformance layer, which also enforces
 * mqtt.maxPacketBytes before anything buffers a packet.
 */
export function createMqttListeners(broker: Aedes, mqtt: Config['mqtt']) {
  const handle = (stream: Duplex, request?: IncomingMessage) => broker.handle(stream, request)
  const tcp = createTcpServer((socket) => {
    socket.setNoDelay(true)
    handle(socket)
  })
  const tls: Server | undefined = mqtt.tls
    ? createTlsServer(
        {
          cert: readTlsFile(mqtt.tls.cert, 'mqtt.tls.cert'),
          key: readTlsFile(mqtt.tls.key, 'mqtt.tls.key'),
        },
        (socket) => handle(socket),
      )
    : undefined
  const wss = new WebSocketServer({ noServer: true, maxPayload: mqtt.maxPacketBytes })
  const websocket: UpgradeRoute | undefined = mqtt.websocket
    ? {
        matches: (pathname) => pathname === '/mqtt',
        handleUpgrade(request, socket, head) {
          wss.handleUpgrade(request, socket, head, (ws) => {
            ws.on('error', () => ws.terminate())
            handle(createWebSocketStream(ws), request)
          })
        },
      }
    : undefined
  return {
    tcp,
    tls,
    websocket,
    closeWebSockets: () => {
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    },
  }
}
