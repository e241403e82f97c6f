import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ExitStatus, exitStatusByCode } from '../src/cli/exit-status.js'
import { errorDocs } from '../src/errors/codes.js'

const doc = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8')

describe('exit statuses', () => {
  it('docs/errors.md gives every code the exit status the CLI uses', () => {
    const documented = Object.fromEntries(
      [...doc('docs/errors.md').matchAll(/^\| `(FC_ERR_[A-Z_]+)` *\|.*\| *(\S+) *\|$/gm)].map(
        ([, code, status]) => [code, Number(status)],
      ),
    )
    const expected = Object.fromEntries(
      Object.keys(errorDocs).map((code) => [
        code,
        exitStatusByCode[code as keyof typeof errorDocs],
      ]),
    )
    expect(documented).toEqual(expected)
  })

  it('docs/cli.md explains every exit status', () => {
    const rows = [...doc('docs/cli.md').matchAll(/^\| (\d) +\| (\S.*?) *\|$/gm)].map(([, status]) =>
      Number(status),
    )
    expect(rows).toEqual(Object.values(ExitStatus))
  })
})
