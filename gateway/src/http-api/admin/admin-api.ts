import type { IncomingMessage, ServerResponse } from 'node:http'
import type { UplinkRules } from '../../bridge/uplink-rules.js'
import type { Meter } from '../../domain/meter.js'
import { GatewayError } from '../../errors/gateway-error.js'
import { httpStatusByCode } from '../../errors/http-status.js'
import { LocalFleet } from '../../fleet/local-fleet.js'
import type { Logger } from '../../log.js'
import type { Store } from '../../store/open-store.js'
import type { Token } from '../../store/token-repository.js'
import { HttpError } from '../http-error.js'
import { sendJson } from '../http-handler.js'
import { readBody } from '../read-body.js'
import { adminTokenOf } from './admin-auth.js'
import {
  type AdminAnswer,
  type AdminCall,
  type AdminRoute,
  jsonOf,
  noFields,
  parseInput,
  queryObject,
} from './admin-route.js'
import { createAdminRouter } from './admin-router.js'
import { adminRoutes } from './routes/index.js'

export const ADMIN_PREFIX = '/admin/v1'

export interface AdminApiOptions {
  store: Store
  /** Apps under `apps[]` in the config, which commands may not change. */
  configuredAppIds: readonly string[]
  maxBodyBytes: number
  /** Ends a changed device's live session now rather than at the next store poll. */
  onDeviceChanged(id: string): void
  /** The uplink rules the gateway runs now, for dry runs. */
  uplinkRules(): UplinkRules
  meter: Meter
  log: Logger
  routes?: readonly AdminRoute[]
}

// Answers carry secrets and tokens; no cache or proxy may keep them.
const NO_STORE = { 'cache-control': 'no-store' }

function refusal(error: GatewayError, headers: Record<string, string> = {}): AdminAnswer {
  return {
    status: httpStatusByCode[error.code],
    json: { error: error.message, code: error.code },
    headers,
  }
}

/**
 * The admin API under /admin/v1 (docs/admin-api.md): JSON over HTTP for FleetOperations,
 * authorised by admin tokens. Each request runs on a LocalFleet scoped to its token's app and
 * audited as `token:<id>`.
 */
export function createAdminApi(options: AdminApiOptions) {
  const match = createAdminRouter(options.routes ?? adminRoutes)

  function callFor(
    request: IncomingMessage,
    token: Token,
    url: URL,
    params: Record<string, string>,
  ): AdminCall {
    const actor = `token:${token.id}`
    return {
      fleet: new LocalFleet({
        store: options.store,
        configuredAppIds: options.configuredAppIds,
        actor,
        appScope: token.appId,
        onDeviceChanged: options.onDeviceChanged,
      }),
      store: options.store,
      token,
      actor,
      onDeviceChanged: options.onDeviceChanged,
      uplinkRules: options.uplinkRules,
      param: (name) => params[name] ?? '',
      query: url.searchParams,
      rawBody: (maxBytes = options.maxBodyBytes) =>
        readBody(request, maxBytes).catch((error: unknown) => {
          if (error instanceof HttpError && error.status === 413) {
            throw new GatewayError('FC_ERR_REQUEST_TOO_LARGE', error.message)
          }
          throw error
        }),
    }
  }

  async function serve(request: IncomingMessage, pathname: string): Promise<AdminAnswer> {
    // Authenticated before anything is said about routes, so strangers learn nothing.
    const token = adminTokenOf(request, (bearer) => options.store.tokens.check(bearer))
    const url = new URL(request.url ?? '/', 'http://localhost')
    const found = pathname.startsWith(`${ADMIN_PREFIX}/`)
      ? match(request.method ?? 'GET', pathname.slice(ADMIN_PREFIX.length))
      : { found: false as const, allow: [] }
    if (!found.found && found.allow.length > 0) {
      const allow = found.allow.join(', ')
      const error = new GatewayError('FC_ERR_METHOD_NOT_ALLOWED', `${pathname} takes ${allow}`)
      return refusal(error, { allow })
    }
    if (!found.found) {
      throw new GatewayError('FC_ERR_ROUTE_NOT_FOUND', `No admin API route for ${pathname}`)
    }
    const { route, params } = found
    const call = callFor(request, token, url, params)
    const query = parseInput('query', route.query ?? noFields, queryObject(call.query))
    const body = route.body ? parseInput('body', route.body, jsonOf(await call.rawBody())) : {}
    return route.handle(call, { query, body })
  }

  function send(response: ServerResponse, answer: AdminAnswer): void {
    const headers = { ...NO_STORE, ...answer.headers }
    if (answer.status >= 400) options.meter.rejected(`admin_${answer.status}`)
    if ('json' in answer) {
      sendJson(response, answer.status, answer.json, headers)
      return
    }
    response.writeHead(answer.status, {
      ...headers,
      'content-type': answer.contentType,
      'content-length': Buffer.byteLength(answer.body),
    })
    response.end(answer.body)
  }

  /** Answers requests under /admin/; returns false for any other path. */
  return (request: IncomingMessage, response: ServerResponse, pathname: string): boolean => {
    if (pathname !== '/admin' && !pathname.startsWith('/admin/')) return false
    serve(request, pathname).then(
      (answer) => send(response, answer),
      (error: unknown) => {
        if (GatewayError.is(error)) {
          const challenge: Record<string, string> =
            error.code === 'FC_ERR_UNAUTHORIZED'
              ? { 'www-authenticate': 'Bearer realm="fleetcast-admin"' }
              : {}
          send(response, refusal(error, challenge))
          return
        }
        options.log.error({ err: error, path: pathname }, 'admin API request failed')
        send(
          response,
          refusal(
            new GatewayError('FC_ERR_INTERNAL', 'Internal error; the gateway log has details'),
          ),
        )
      },
    )
    return true
  }
}
