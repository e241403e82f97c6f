import {
  createServer as createPlainServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import type { Config } from './config/schema.js'
import type { Logger } from './log.js'
import { readTlsFile } from './tls-files.js'

/** An edge that takes WebSocket upgrades on some paths (prefix already removed). */
export interface UpgradeRoute {
  matches(pathname: string): boolean
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    pathname: string,
  ): void
}

export interface GatewayHttpOptions {
  http: Config['http']
  log: Logger
  handleRequest(request: IncomingMessage, response: ServerResponse, pathname: string): void
  upgrades: UpgradeRoute[]
}

/**
 * Removes the deployment prefix (pusher-js `wsPath`, the PHP SDK's `path`) when the path carries
 * it; paths without it are served too, for proxies that strip it themselves.
 */
export function stripPrefix(pathname: string, prefix: string): string {
  if (prefix !== '' && (pathname === prefix || pathname.startsWith(`${prefix}/`))) {
    return pathname.slice(prefix.length) || '/'
  }
  return pathname
}

/** The HTTP(S) server on http.port: plain requests, and upgrades routed by path to the edges. */
export function createGatewayHttpServer(options: GatewayHttpOptions): Server {
  const { http, log } = options
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    options.handleRequest(request, response, stripPrefix(url.pathname, http.pathPrefix))
  }
  const server: Server = http.tls
    ? createTlsServer(
        {
          cert: readTlsFile(http.tls.cert, 'http.tls.cert'),
          key: readTlsFile(http.tls.key, 'http.tls.key'),
        },
        onRequest,
      )
    : createPlainServer(onRequest)
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (error) => log.debug({ err: error }, 'upgrade socket error'))
    const url = new URL(request.url ?? '/', 'http://localhost')
    const pathname = stripPrefix(url.pathname, http.pathPrefix)
    const route = options.upgrades.find((r) => r.matches(pathname))
    if (route) {
      route.handleUpgrade(request, socket, head, url, pathname)
      return
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  })
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
  })
  return server
}
