import type { z } from 'zod'

/** A configurable leaf of the schema: its key path and whether its value is plain text. */
export interface ConfigLeaf {
  path: string[]
  isText: boolean
}

type AnySchema = z.core.$ZodType
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly'])

function unwrap(schema: AnySchema): AnySchema {
  let current = schema
  while (WRAPPERS.has(current._zod.def.type)) {
    current = (current._zod.def as unknown as { innerType: AnySchema }).innerType
  }
  return current
}

/** Every leaf under the schema's nested objects; arrays and records count as one leaf each. */
export function configLeaves(schema: AnySchema, prefix: string[] = []): ConfigLeaf[] {
  const node = unwrap(schema)
  const def = node._zod.def
  if (def.type === 'object') {
    const shape = (def as unknown as { shape: Record<string, AnySchema> }).shape
    return Object.entries(shape).flatMap(([key, child]) => configLeaves(child, [...prefix, key]))
  }
  return [{ path: prefix, isText: def.type === 'string' || def.type === 'enum' }]
}
