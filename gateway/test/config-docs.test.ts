import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { z } from 'zod'
import { loadConfig } from '../src/config/load.js'
import { configSchema } from '../src/config/schema.js'
import { errorDocs } from '../src/errors/codes.js'
import { PusherCode } from '../src/errors/pusher-codes.js'

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

/** Every key path of the schema, array elements written as `[]`: `apps[].webhooks[].url`. */
function schemaPaths(schema: z.core.$ZodType, prefix = ''): string[] {
  const def = schema._zod.def as unknown as {
    type: string
    innerType?: z.core.$ZodType
    shape?: Record<string, z.core.$ZodType>
    element?: z.core.$ZodType
  }
  if (def.innerType) return schemaPaths(def.innerType, prefix)
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([key, child]) => {
      const path = prefix ? `${prefix}.${key}` : key
      return [path, ...schemaPaths(child, path)]
    })
  }
  if (def.type === 'array' && def.element) return schemaPaths(def.element, `${prefix}[]`)
  return []
}

function valuePaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => valuePaths(item, `${prefix}[]`))
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key
    return [path, ...valuePaths(child, path)]
  })
}

describe('config/fleetcast.example.yaml', () => {
  const file = root('config/fleetcast.example.yaml')

  it('loads without problems', () => {
    expect(() => loadConfig({ file, env: {} })).not.toThrow()
  })

  it('shows every key of the schema', () => {
    const shown = new Set(valuePaths(parse(readFileSync(file, 'utf8'))))
    const missing = schemaPaths(configSchema).filter((path) => !shown.has(path))
    expect(missing).toEqual([])
  })

  it('is documented key by key in docs/config.md', () => {
    const doc = readFileSync(root('docs/config.md'), 'utf8')
    const undocumented = schemaPaths(configSchema).filter((path) => !doc.includes(`\`${path}\``))
    expect(undocumented).toEqual([])
  })
})

describe('docs/errors.md', () => {
  const doc = readFileSync(root('docs/errors.md'), 'utf8')

  it('lists exactly the codes of the error registry', () => {
    const documented = new Set(doc.match(/FC_ERR_[A-Z_]+/g))
    expect([...documented].sort()).toEqual(Object.keys(errorDocs).sort())
  })

  it('lists every Pusher error and close code the gateway uses', () => {
    const missing = Object.values(PusherCode).filter((code) => !doc.includes(`| ${code} |`))
    expect(missing).toEqual([])
  })
})
