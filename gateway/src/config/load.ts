import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { GatewayError } from '../errors/gateway-error.js'
import { CONFIG_FILE_ENV, readEnvLayer } from './env.js'
import { type Config, type ConfigInput, configSchema } from './schema.js'
import { configLeaves } from './schema-walk.js'

export type ConfigOverrides = DeepPartial<ConfigInput>
type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T

export interface LoadConfigOptions {
  /** YAML file; when absent, `FLEETCAST_CONFIG` from `env` names it, else none is read. */
  file?: string | undefined
  /** Defaults to process.env. Tests pass `{}` to stay hermetic. */
  env?: NodeJS.ProcessEnv
  /** Highest precedence; used by tests and embedders. */
  overrides?: ConfigOverrides
}

/**
 * defaults < YAML file < FLEETCAST_* environment < overrides. Every problem is collected and
 * reported at once, each with its key path and, where it helps, the file or variable it came from.
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env
  const file = options.file ?? env[CONFIG_FILE_ENV]
  const fileValues = file === undefined ? {} : readConfigFile(file)
  const envLayer = readEnvLayer(env, configLeaves(configSchema))
  const merged = deepMerge(deepMerge(fileValues, envLayer.values), options.overrides ?? {})
  const result = configSchema.safeParse(merged)
  const problems = [...envLayer.problems]
  if (!result.success) {
    problems.push(
      ...result.error.issues.flatMap((issue) => describeIssue(issue, envLayer.sources, file)),
    )
  }
  if (problems.length > 0 || !result.success) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    throw new GatewayError(
      'FC_ERR_CONFIG_INVALID',
      `Invalid configuration (${count}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
  }
  return deepFreeze(result.data)
}

/** The defaults alone, as the schema fills them in. */
export function defaultConfig(): Config {
  return configSchema.parse({})
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new GatewayError('FC_ERR_CONFIG_FILE', `Cannot read config file ${file}: ${reason}`, {
      cause: error,
    })
  }
  const doc = parseDocument(text, { prettyErrors: true })
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e) => `  - ${e.message.split('\n')[0]}`).join('\n')
    throw new GatewayError(
      'FC_ERR_CONFIG_FILE',
      `Config file ${file} is not valid YAML:\n${details}`,
    )
  }
  const value: unknown = doc.toJS()
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError(
      'FC_ERR_CONFIG_FILE',
      `Config file ${file} must hold a mapping of keys (http, mqtt, store, ...) at the top level`,
    )
  }
  return value as Record<string, unknown>
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`,
    )
    .join('')
}

function describeIssue(
  issue: z.core.$ZodIssue,
  envSources: Map<string, string>,
  file: string | undefined,
): string[] {
  const at = formatPath(issue.path)
  if (issue.code === 'unrecognized_keys') {
    const where = file === undefined ? '' : ` (in ${file})`
    return issue.keys.map((key) => `${at ? `${at}.` : ''}${key}: unknown key${where}`)
  }
  const fromEnv = envSources.get(issue.path.map(String).join('.'))
  const source = fromEnv === undefined ? '' : ` (set by ${fromEnv})`
  return [`${at || '(root)'}: ${issue.message}${source}`]
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Objects merge key by key; arrays and scalars from `over` replace those in `base`. */
function deepMerge(base: Record<string, unknown>, over: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value
  }
  return out
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
