import type { AdminRoute } from './admin-route.js'

interface CompiledRoute {
  route: AdminRoute
  pattern: RegExp
  names: string[]
}

export type RouteMatch =
  | { found: true; route: AdminRoute; params: Record<string, string> }
  | { found: false; allow: string[] }

function compile(route: AdminRoute): CompiledRoute {
  const names: string[] = []
  const source = route.path
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\{(\w+)\}/g, (_, name) => {
      names.push(name)
      return '([^/]+)'
    })
  return { route, pattern: new RegExp(`^${source}$`), names }
}

/**
 * Finds the route for a method and a path under /admin/v1. A literal segment beats a
 * placeholder (`/devices/export` before `/devices/{id}`), whatever the order of the table.
 * `allow` lists the methods the path takes when none matched the one asked for.
 */
export function createAdminRouter(routes: readonly AdminRoute[]) {
  const compiled = routes.map(compile).sort((a, b) => a.names.length - b.names.length)

  return function match(method: string, path: string): RouteMatch {
    const allow: string[] = []
    for (const { route, pattern, names } of compiled) {
      const captures = pattern.exec(path)
      if (!captures) continue
      if (route.method !== method) {
        allow.push(route.method)
        continue
      }
      let params: Record<string, string>
      try {
        params = Object.fromEntries(
          names.map((name, i) => [name, decodeURIComponent(captures[i + 1] ?? '')]),
        )
      } catch {
        // A malformed percent escape can name no stored id.
        continue
      }
      return { found: true, route, params }
    }
    return { found: false, allow: [...new Set(allow)] }
  }
}
