import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { adminRoutes } from '../src/http-api/admin/routes/index.js'

interface Operation {
  summary: string
  parameters?: Array<{ $ref?: string; name?: string; in?: string }>
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref: string } }> }
  responses: Record<string, unknown>
}

interface ObjectSchema {
  properties: Record<string, unknown>
  required: string[]
}

const text = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')
const doc = JSON.parse(text) as {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, ObjectSchema> }
}
const METHODS = ['get', 'post', 'put', 'patch', 'delete']

function operations(): Map<string, Operation> {
  const found = new Map<string, Operation>()
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method]
      if (operation) found.set(`${method.toUpperCase()} ${path}`, operation)
    }
  }
  return found
}

function resolve(ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc)
}

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn)
  if (typeof node !== 'object' || node === null) return []
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? [value] : refsIn(value),
  )
}

/** Field names and required names of a zod object, as JSON Schema sees its input. */
function fieldsOf(shape: z.ZodObject): { names: string[]; required: string[] } {
  const schema = z.toJSONSchema(shape, { io: 'input' }) as Partial<ObjectSchema>
  return { names: Object.keys(schema.properties ?? {}).sort(), required: schema.required ?? [] }
}

describe('docs/openapi.json', () => {
  it('is an OpenAPI 3.1 document whose every $ref resolves', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    const dangling = refsIn(doc).filter((ref) => resolve(ref) === undefined)
    expect(dangling).toEqual([])
  })

  it('describes exactly the routes the admin API serves, with their summaries', () => {
    const documented = operations()
    const served = adminRoutes.map((route) => `${route.method} ${route.path}`)
    expect(new Set(served).size).toBe(served.length)
    expect([...documented.keys()].sort()).toEqual([...served].sort())
    for (const route of adminRoutes) {
      expect(documented.get(`${route.method} ${route.path}`)?.summary, route.path).toBe(
        route.summary,
      )
    }
  })

  it('names the same query parameters and body fields as the routes check', () => {
    const documented = operations()
    for (const route of adminRoutes) {
      const key = `${route.method} ${route.path}`
      const operation = documented.get(key) as Operation
      const parameters = (operation.parameters ?? [])
        .map((p) => (p.$ref ? (resolve(p.$ref) as { name: string; in: string }) : p))
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
      expect(parameters.sort(), key).toEqual(
        route.query ? fieldsOf(route.query).names : ([] as string[]),
      )
      // A route without a body schema reads its raw body (an import file) itself.
      if (!route.body) continue
      const ref = operation.requestBody?.content['application/json']?.schema.$ref ?? ''
      const schema = resolve(ref) as ObjectSchema
      const fields = fieldsOf(route.body)
      expect(Object.keys(schema.properties).sort(), key).toEqual(fields.names)
      expect([...schema.required].sort(), key).toEqual([...fields.required].sort())
      // A body with required fields must be sent; the others may be left empty.
      expect(operation.requestBody?.required, key).toBe(fields.required.length > 0)
    }
  })
})
