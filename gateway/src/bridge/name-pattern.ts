import { parseTemplate, type Template, templateNames } from './template.js'

/** A channel or event name template read backwards: `command.${command}` captures `command`. */
export interface NamePattern {
  template: Template
  regex: RegExp
  names: string[]
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Parses a name pattern; returns it or a sentence saying what is wrong. */
export function parseNamePattern(source: string): NamePattern | string {
  const template = parseTemplate(source)
  if (typeof template === 'string') return template
  const names = templateNames(template)
  if (names.some((name) => name.includes('.')))
    return `"${source}": only plain capture names can be matched`
  if (new Set(names).size !== names.length) return `"${source}" names a capture twice`
  // Two captures side by side could split a name more than one way.
  if (
    template.parts.some(
      (part, i) => 'name' in part && 'name' in (template.parts[i + 1] ?? { text: '' }),
    )
  ) {
    return `"${source}": put literal text between two captures`
  }
  const body = template.parts
    .map((part) => ('text' in part ? escapeRegExp(part.text) : `(?<${part.name}>.+?)`))
    .join('')
  return { template, regex: new RegExp(`^${body}$`), names }
}

/** The captures when `name` matches, else undefined. */
export function matchName(pattern: NamePattern, name: string): Record<string, string> | undefined {
  const match = pattern.regex.exec(name)
  return match ? { ...(match.groups ?? {}) } : undefined
}
