import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatFilterList, formatTags, parseFilterList, parseTags } from './cell-forms.js'

describe('tags in a CSV cell', () => {
  it('reads key=value pairs, where only the first = of a pair splits it', () => {
    expect(parseTags('site=lab;formula=a=b;;empty=')).toEqual({
      value: { site: 'lab', formula: 'a=b', empty: '' },
    })
    expect(parseTags(' {"k": "v;w"}')).toEqual({ value: { k: 'v;w' } })
    expect(parseTags({ k: 'v' })).toEqual({ value: { k: 'v' } })
  })

  it('gives a reason for pairs without a key, repeated keys, non-text values and bad JSON', () => {
    expect(parseTags('site')).toEqual({ reason: '"site" is not key=value' })
    expect(parseTags('=lab')).toEqual({ reason: '"=lab" is not key=value' })
    expect(parseTags('a=1;a=2')).toEqual({ reason: 'tag "a" appears twice' })
    expect(parseTags('{"n": 1}')).toEqual({ reason: 'tag "n" must have a text value' })
    expect(parseTags('{"n": ')).toMatchObject({
      reason: expect.stringMatching(/^is not valid JSON/),
    })
    expect(parseTags(['a'])).toMatchObject({ reason: expect.stringMatching(/JSON object/) })
  })

  it('writes tags in a form that reads back as the same tags', () => {
    const text = fc.string({ unit: 'grapheme' })
    fc.assert(
      fc.property(fc.dictionary(text, text), (tags) => {
        // Keys are never empty (tagProblems refuses them before they are stored).
        const stored = Object.fromEntries(Object.entries(tags).filter(([key]) => key !== ''))
        expect(parseTags(formatTags(stored))).toEqual({ value: stored })
      }),
    )
  })

  it('uses the compact form when it can', () => {
    expect(formatTags({ site: 'lab', floor: '2' })).toBe('site=lab;floor=2')
    expect(formatTags({ note: 'a;b' })).toBe('{"note":"a;b"}')
    expect(formatTags({})).toBe('')
  })
})

describe('ACL filter lists in a CSV cell', () => {
  it('reads ;-separated filters or a JSON array; [] is an empty list', () => {
    expect(parseFilterList('devices/+/x;alerts/#')).toEqual({ value: ['devices/+/x', 'alerts/#'] })
    expect(parseFilterList('["a;b"]')).toEqual({ value: ['a;b'] })
    expect(parseFilterList('[]')).toEqual({ value: [] })
    expect(parseFilterList('[1]')).toMatchObject({ reason: expect.stringMatching(/strings/) })
  })

  it('writes a list in a form that reads back as the same list', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 })), (filters) => {
        expect(parseFilterList(formatFilterList(filters))).toEqual({ value: filters })
      }),
    )
    expect(formatFilterList(['a/#', 'b'])).toBe('a/#;b')
    expect(formatFilterList([])).toBe('[]')
  })
})
