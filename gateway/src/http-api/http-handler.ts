import type { IncomingMessage, ServerResponse } from 'node:http'

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  response.end(text)
}

/** Plain HTTP requests on the gateway port. Every answer is JSON, errors as `{ "error": ... }`. */
export function createHttpHandler() {
  return (request: IncomingMessage, response: ServerResponse, pathname: string): void => {
    if (pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
      sendJson(response, 200, { status: 'ok' })
      return
    }
    sendJson(response, 404, { error: `No route for ${request.method ?? 'GET'} ${pathname}` })
  }
}
