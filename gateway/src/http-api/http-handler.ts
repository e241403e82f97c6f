import type { IncomingMessage, ServerResponse } from 'node:http'

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  response.end(text)
}

export interface HttpHandlerOptions {
  /** Answers /apps/... requests; false for other paths. */
  rest(request: IncomingMessage, response: ServerResponse, pathname: string): boolean
  /** Answers the built-in channel and user auth endpoints (/pusher/...); false for other paths. */
  dashboardAuth(request: IncomingMessage, response: ServerResponse, pathname: string): boolean
  /** Answers the claim provisioning endpoint (/provision/v1/claim); false for other paths. */
  provision(request: IncomingMessage, response: ServerResponse, pathname: string): boolean
  /** Answers the admin API (/admin/...); false for other paths. */
  admin(request: IncomingMessage, response: ServerResponse, pathname: string): boolean
  /** Problems that make the gateway not ready (empty when ready). */
  readinessProblems(): string[]
  metrics: { contentType: string; render(): Promise<string> }
}

/**
 * Plain HTTP requests on the gateway port: health, readiness, metrics and the REST API. Every
 * answer but /metrics is JSON, errors as `{ "error": ... }`.
 */
export function createHttpHandler(options: HttpHandlerOptions) {
  return (request: IncomingMessage, response: ServerResponse, pathname: string): void => {
    const isRead = request.method === 'GET' || request.method === 'HEAD'
    if (pathname === '/healthz' && isRead) {
      sendJson(response, 200, { status: 'ok' })
      return
    }
    if (pathname === '/readyz' && isRead) {
      const problems = options.readinessProblems()
      sendJson(
        response,
        problems.length === 0 ? 200 : 503,
        problems.length === 0 ? { status: 'ready' } : { error: problems.join('; ') },
      )
      return
    }
    if (pathname === '/metrics' && isRead) {
      options.metrics.render().then(
        (text) => {
          response.writeHead(200, { 'content-type': options.metrics.contentType })
          response.end(text)
        },
        () => sendJson(response, 500, { error: 'Metrics could not be collected' }),
      )
      return
    }
    if (options.rest(request, response, pathname)) return
    if (options.admin(request, response, pathname)) return
    if (options.provision(request, response, pathname)) return
    if (options.dashboardAuth(request, response, pathname)) return
    sendJson(response, 404, { error: `No route for ${request.method ?? 'GET'} ${pathname}` })
  }
}
