/**
 * Origin allowlist (Reverb `allowed_origins` style): `*` allows any, `https://*.example.com`
 * allows subdomains of example.com on https, anything else must equal the Origin header.
 * A request without an Origin header is not from a browser and is not subject to the list.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0 || origin === undefined) return true
  const lower = origin.toLowerCase()
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase()
    if (p === '*') return true
    const wildcard = p.indexOf('://*.')
    if (wildcard < 0) return lower === p
    const scheme = p.slice(0, wildcard + 3)
    const suffix = p.slice(wildcard + 4) // ".example.com[:port]"
    return (
      lower.startsWith(scheme) &&
      lower.endsWith(suffix) &&
      lower.length > scheme.length + suffix.length
    )
  })
}
