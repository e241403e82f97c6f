/**
 * `${name}` templates for channel names, event names and topics. Names are capture names or
 * `device.id`, `device.name`, `device.tags.<tag>`. Parsing happens once, at config load.
 */
export type TemplatePart = { text: string } | { name: string }

export interface Template {
  source: string
  parts: TemplatePart[]
}

const PLACEHOLDER = /\$\{([^}]*)\}/g
const NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|device\.(?:id|name|tags\.[A-Za-z0-9_.-]+))$/

/** Parses a template; returns it or a sentence saying what is wrong. */
export function parseTemplate(source: string): Template | string {
  const parts: TemplatePart[] = []
  let last = 0
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? ''
    if (!NAME.test(name))
      return `"\${${name}}" is not a capture name or device.id / device.name / device.tags.<tag>`
    if (match.index > last) parts.push({ text: source.slice(last, match.index) })
    parts.push({ name })
    last = match.index + match[0].length
  }
  if (source.indexOf('${', last) >= 0) return `"${source}" has an unclosed \${`
  if (last < source.length) parts.push({ text: source.slice(last) })
  return { source, parts }
}

export function templateNames(template: Template): string[] {
  return template.parts.flatMap((part) => ('name' in part ? [part.name] : []))
}

/** Fills a template; a name with no value renders as the empty string (callers validate results). */
export function renderTemplate(template: Template, values: Record<string, string>): string {
  let out = ''
  for (const part of template.parts) out += 'text' in part ? part.text : (values[part.name] ?? '')
  return out
}
