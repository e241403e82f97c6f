import { z } from 'zod'
import type { UplinkRules } from '../../bridge/uplink-rules.js'
import { GatewayError } from '../../errors/gateway-error.js'
import type { FleetOperations } from '../../fleet/fleet-operations.js'
import type { Store } from '../../store/open-store.js'
import type { Token } from '../../store/token-repository.js'

/** What a route gets: the caller's fleet view (scoped and audited as its token) and the request. */
export interface AdminCall {
  /** Operations as the calling token: its app scope applies, its id is the audit actor. */
  fleet: FleetOperations
  /** For routes that go beyond FleetOperations (bulk import); respect `token.appId` there. */
  store: Store
  token: Token
  /** `token:<id>`, for audit entries a route writes itself. */
  actor: string
  /** Tells the gateway a device changed, so its live session ends now. */
  onDeviceChanged(id: string): void
  /** The uplink rules the gateway runs now (they change on reload). */
  uplinkRules(): UplinkRules
  /** A decoded `{name}` capture of the route path. */
  param(name: string): string
  query: URLSearchParams
  /** The raw body, refused with 413 past `maxBytes` (default: rest.maxBodyBytes). */
  rawBody(maxBytes?: number): Promise<Buffer>
}

export type AdminAnswer = { status: number; headers?: Record<string, string> } & (
  | { json: unknown }
  | { contentType: string; body: string | Buffer }
)

type Shape = z.ZodObject

/**
 * One admin API route. `path` is relative to /admin/v1 and uses OpenAPI's `{name}` placeholders;
 * docs/openapi.json lists the same method and path (a test compares them). `query` and `body`
 * are checked before `handle` runs, so every route refuses unknown, missing or mistyped fields
 * the same way; a route without `body` reads `rawBody()` itself.
 */
export interface AdminRoute<Q extends Shape = Shape, B extends Shape = Shape> {
  method: 'GET' | 'POST'
  path: string
  /** A summary for docs and errors. */
  summary: string
  query?: Q
  body?: B
  handle(call: AdminCall, input: { query: z.output<Q>; body: z.output<B> }): Promise<AdminAnswer>
}

/** Keeps each route's input types while the route table holds them all. */
export function route<Q extends Shape = Shape, B extends Shape = Shape>(
  definition: AdminRoute<Q, B>,
): AdminRoute {
  return definition as unknown as AdminRoute
}

export function ok(json: unknown): AdminAnswer {
  return { status: 200, json }
}

export function created(json: unknown): AdminAnswer {
  return { status: 201, json }
}

/** A body for POSTs that take none: empty, or `{}`. */
export const noFields = z.strictObject({})

/** A query value that appears once, e.g. `app=app-1`. */
export const oneValue = z.string({ error: 'expected one value' })

/** A query value that may repeat, e.g. `tag=site=lab&tag=floor=2`. */
export function repeatedValues<T extends z.ZodType<unknown, string>>(item: T) {
  return z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(item))
}

export function booleanValue() {
  return z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .transform((v) => v === 'true')
}

export function integerValue(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
}

/** Every problem as `where.path: reason`, e.g. `body.tags.site: Invalid input: expected string`. */
function describe(where: 'body' | 'query', error: z.ZodError): string {
  return error.issues
    .map((issue) => `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ')
}

export function parseInput<S extends Shape>(
  where: 'body' | 'query',
  schema: S,
  value: unknown,
): z.output<S> {
  const parsed = schema.safeParse(value)
  if (!parsed.success)
    throw new GatewayError('FC_ERR_REQUEST_INVALID', describe(where, parsed.error))
  return parsed.data
}

/** Query parameters as an object: a repeated name becomes an array of its values. */
export function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const object: Record<string, string | string[]> = {}
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name)
    object[name] = values.length === 1 ? (values[0] as string) : values
  }
  return object
}

/** The JSON of a request body; an empty body counts as `{}`. */
export function jsonOf(body: Buffer): unknown {
  if (body.length === 0) return {}
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new GatewayError('FC_ERR_REQUEST_INVALID', 'The body is not valid JSON')
  }
}
