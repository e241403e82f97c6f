import { type ErrorCode, errorDocs } from '../errors/codes.js'
import { GatewayError } from '../errors/gateway-error.js'

export interface AdminTarget {
  /** The gateway's HTTP address (`http://pi.local:6001`); a path prefix of a proxy is kept. */
  url: string
  /** An admin token's bearer string. */
  token: string
}

export type AdminQuery = Array<[string, string | number | boolean | undefined]>

export interface AdminRequest {
  method?: 'GET' | 'POST'
  query?: AdminQuery
  /** Sent as JSON. */
  json?: unknown
  /** Sent as is (a file to import), with its content type. */
  raw?: { bytes: Buffer; contentType: string }
  /** How long this request may take before the gateway counts as unreachable. */
  timeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 30_000

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorDocs, value)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/**
 * HTTP to the admin API (`/admin/v1`, docs/admin-api.md). `{ error, code }` answers become the
 * GatewayErrors the local operations raise, so the CLI prints the same message and exits with the
 * same status whether it ran on the store or through the gateway.
 */
export class AdminClient {
  readonly #base: URL
  readonly #token: string

  constructor(target: AdminTarget) {
    const root = new URL(target.url)
    if (!root.pathname.endsWith('/')) root.pathname += '/'
    this.#base = new URL('admin/v1/', root)
    this.#token = target.token
  }

  /** The body of a 2xx answer as text; a GatewayError for anything else. */
  async text(path: string, request: AdminRequest = {}): Promise<string> {
    const url = new URL(path, this.#base)
    for (const [name, value] of request.query ?? []) {
      if (value !== undefined) url.searchParams.append(name, String(value))
    }
    const response = await this.#fetch(url, request)
    const text = await response.text()
    if (response.ok) return text
    const { error, code } = (parseJson(text) ?? {}) as { error?: unknown; code?: unknown }
    if (isErrorCode(code) && typeof error === 'string') throw new GatewayError(code, error)
    throw this.notTheAdminApi(response.status, 'an answer without a Fleetcast error code')
  }

  /** The JSON object of a 2xx answer. */
  async json<T>(path: string, request: AdminRequest = {}): Promise<T> {
    const body = parseJson(await this.text(path, request))
    if (typeof body !== 'object' || body === null) {
      throw this.notTheAdminApi(200, 'an answer that is not a JSON object')
    }
    return body as T
  }

  notTheAdminApi(status: number, what: string): GatewayError {
    return new GatewayError(
      'FC_ERR_ADMIN_RESPONSE',
      `${this.#base.origin} answered HTTP ${status} with ${what}: is --url (or FLEETCAST_URL) the Fleetcast gateway's HTTP address?`,
    )
  }

  async #fetch(url: URL, request: AdminRequest): Promise<Response> {
    const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const contentType =
      request.raw?.contentType ?? (request.json === undefined ? undefined : 'application/json')
    try {
      return await fetch(url, {
        method: request.method ?? 'GET',
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'application/json',
          ...(contentType === undefined ? {} : { 'content-type': contentType }),
        },
        body:
          request.raw?.bytes ??
          (request.json === undefined ? undefined : JSON.stringify(request.json)),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      throw this.#unreachable(error, timeoutMs)
    }
  }

  #unreachable(error: unknown, timeoutMs: number): GatewayError {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : // fetch reports "fetch failed"; the socket's reason (ECONNREFUSED, ENOTFOUND) is the cause.
          ((error as { cause?: { code?: string; message?: string } }).cause?.code ??
          (error as { cause?: Error }).cause?.message ??
          (error as Error).message)
    return new GatewayError(
      'FC_ERR_GATEWAY_UNREACHABLE',
      `Cannot reach the gateway at ${this.#base.origin}: ${reason}. Is it running, and is --url (or FLEETCAST_URL) its HTTP address?`,
      { cause: error },
    )
  }
}
