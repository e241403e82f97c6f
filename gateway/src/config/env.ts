import type { ConfigLeaf } from './schema-walk.js'

export const ENV_PREFIX = 'FLEETCAST_'
/** Not a config key: names the config file when --config is not given. */
export const CONFIG_FILE_ENV = 'FLEETCAST_CONFIG'

/** `activityTimeout` -> `ACTIVITY_TIMEOUT`. */
function toEnvSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

/** `['mqtt','port']` -> `FLEETCAST_MQTT__PORT`: nesting by double underscore. */
export function envNameFor(path: readonly string[]): string {
  return ENV_PREFIX + path.map(toEnvSegment).join('__')
}

export interface EnvLayer {
  /** Partial config built from the environment. */
  values: Record<string, unknown>
  /** Config path (dotted) -> the variable that set it, to name the source in errors. */
  sources: Map<string, string>
  problems: string[]
}

/**
 * Reads `FLEETCAST_*` variables into a partial config. Text leaves take the value as is; every
 * other leaf is parsed as JSON (numbers, booleans, arrays), and left as text when that fails so the
 * schema reports the wrong type against the key's path.
 */
export function readEnvLayer(env: NodeJS.ProcessEnv, leaves: ConfigLeaf[]): EnvLayer {
  const byName = new Map(leaves.map((leaf) => [envNameFor(leaf.path), leaf]))
  const layer: EnvLayer = { values: {}, sources: new Map(), problems: [] }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || raw === undefined) continue
    const leaf = byName.get(name)
    if (!leaf) {
      layer.problems.push(`${name}: unknown variable (no config key maps to it)`)
      continue
    }
    setPath(layer.values, leaf.path, leaf.isText ? raw : parseJsonOrText(raw))
    layer.sources.set(leaf.path.join('.'), name)
  }
  return layer
}

function parseJsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>
    else {
      const created: Record<string, unknown> = {}
      node[key] = created
      node = created
    }
  }
  const last = path.at(-1)
  if (last !== undefined) node[last] = value
}
