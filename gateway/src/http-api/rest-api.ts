import type { IncomingMessage, ServerResponse } from 'node:http'
import { verifyRestSignature } from '../auth/rest-signature.js'
import type { Config } from '../config/schema.js'
import type { App } from '../domain/app.js'
import type { Logger } from '../log.js'
import { HttpError } from './http-error.js'
import { sendJson } from './http-handler.js'
import { PerSecondBudget } from './rate-window.js'
import { readBody } from './read-body.js'
import { describeChannel, listChannels, listUsers, terminateUser } from './routes/channels.js'
import type { RestContext, RestHandler } from './routes/context.js'
import { triggerBatch, triggerCost, triggerEvent } from './routes/trigger.js'

export interface RestApiOptions {
  context: RestContext
  findApp(appId: string): App | undefined
  rest: Config['rest']
  log: Logger
}

interface Route {
  method: 'GET' | 'POST'
  pattern: RegExp
  handler: RestHandler
  /** Which per-app budget the request spends. */
  budget: 'read' | 'events' | 'batch_events' | 'none'
}

// Paths after /apps/{id}; captures are decoded before they reach the handler.
const ROUTES: Route[] = [
  { method: 'POST', pattern: /^\/events$/, handler: triggerEvent, budget: 'events' },
  { method: 'POST', pattern: /^\/batch_events$/, handler: triggerBatch, budget: 'batch_events' },
  { method: 'GET', pattern: /^\/channels$/, handler: listChannels, budget: 'read' },
  { method: 'GET', pattern: /^\/channels\/([^/]+)$/, handler: describeChannel, budget: 'read' },
  { method: 'GET', pattern: /^\/channels\/([^/]+)\/users$/, handler: listUsers, budget: 'read' },
  {
    method: 'POST',
    pattern: /^\/users\/([^/]+)\/terminate_connections$/,
    handler: terminateUser,
    budget: 'none',
  },
]

const APP_PATH = /^\/apps\/([^/]+)(\/.*)$/

/**
 * The Pusher HTTP API (pusher-protocol §11): find the app, verify the signature over the path
 * without the deployment prefix, apply the app's budgets, run the route. Every answer is JSON.
 */
export function createRestApi(options: RestApiOptions) {
  const budgets = { read: new PerSecondBudget(), events: new PerSecondBudget() }

  function spend(app: App, route: Route, body: Buffer): void {
    if (route.budget === 'none') return
    const now = Date.now()
    const verdict =
      route.budget === 'read'
        ? budgets.read.take(app.id, app.maxReadRequestsPerSecond, 1, now)
        : budgets.events.take(
            app.id,
            app.maxBackendEventsPerSecond,
            triggerCost(route.budget, body),
            now,
          )
    if (!verdict.ok) {
      throw new HttpError(429, 'Too many requests.', { 'retry-after': String(verdict.retryAfter) })
    }
  }

  async function serve(
    request: IncomingMessage,
    pathname: string,
    query: string,
  ): Promise<unknown> {
    const [, appId = '', rest = ''] = APP_PATH.exec(pathname) ?? []
    const app = options.findApp(decodeURIComponent(appId))
    if (!app) throw new HttpError(404, `Unknown app ${appId.slice(0, 64)}`)
    const route = ROUTES.find((r) => r.pattern.test(rest))
    if (!route) throw new HttpError(404, `No route for ${request.method ?? 'GET'} ${pathname}`)
    if (route.method !== request.method)
      throw new HttpError(405, `${rest} takes ${route.method}`, { allow: route.method })
    const body = await readBody(request, options.rest.maxBodyBytes)
    const now = Math.floor(Date.now() / 1000)
    const verify = (path: string) =>
      verifyRestSignature(
        { method: route.method, path, query, body },
        app,
        now,
        options.rest.timestampWindow,
      )
    // SDKs sign the path as they built it; some percent-encode user ids, some do not.
    const problem = verify(pathname) && verify(decodeURIComponent(pathname))
    if (problem) throw new HttpError(401, problem)
    if (!app.enabled) throw new HttpError(403, `App ${app.id} is disabled`)
    spend(app, route, body)
    const params = (route.pattern.exec(rest) ?? []).slice(1).map((p) => decodeURIComponent(p))
    return route.handler(options.context, { app, body, query: new URLSearchParams(query), params })
  }

  /** Answers requests under /apps/; returns false for any other path. */
  return (request: IncomingMessage, response: ServerResponse, pathname: string): boolean => {
    if (!pathname.startsWith('/apps/')) return false
    const query = (request.url ?? '').split('?')[1] ?? ''
    serve(request, pathname, query).then(
      (body) => sendJson(response, 200, body),
      (error: unknown) => {
        if (error instanceof HttpError) {
          options.context.meter.rejected(`http_${error.status}`)
          sendJson(response, error.status, { error: error.message }, error.headers)
          return
        }
        options.log.error({ err: error, path: pathname }, 'REST request failed')
        sendJson(response, 500, { error: 'Internal error' })
      },
    )
    return true
  }
}
