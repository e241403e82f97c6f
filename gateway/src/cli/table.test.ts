import { describe, expect, it } from 'vitest'
import { formatTags, formatTime, renderFields, renderTable } from './table.js'

describe('renderTable', () => {
  const columns = [
    { header: 'ID', value: (row: { id: string; note: string }) => row.id },
    { header: 'NOTE', value: (row: { id: string; note: string }) => row.note, maxWidth: 8 },
  ]

  it('pads every column to its widest cell, two spaces apart, without trailing blanks', () => {
    const text = renderTable(
      [
        { id: 'a-long-id', note: 'x' },
        { id: 'b', note: '' },
      ],
      columns,
    )
    expect(text).toBe('ID         NOTE\na-long-id  x\nb\n')
  })

  it('cuts cells past maxWidth with an ellipsis and makes control characters visible', () => {
    const text = renderTable([{ id: 'a\u001b[2Jb\nc', note: 'abcdefghijk' }], columns)
    expect(text).toBe('ID        NOTE\na?[2Jb?c  abcdefg…\n')
  })
})

describe('renderFields', () => {
  it('aligns values after the longest label', () => {
    expect(
      renderFields([
        ['id', 'pi-1'],
        ['last seen', '-'],
      ]),
    ).toBe('id:        pi-1\nlast seen: -\n')
  })
})

describe('formatTime and formatTags', () => {
  it('writes epoch ms as ISO 8601 UTC to the second, and - for never', () => {
    expect(formatTime(Date.UTC(2024, 4, 1, 12, 0, 5, 678))).toBe('2024-05-01T12:00:05Z')
    expect(formatTime(null)).toBe('-')
  })

  it('writes tags as key=value pairs, and - for none', () => {
    expect(formatTags({ site: 'lab', floor: '2' })).toBe('site=lab,floor=2')
    expect(formatTags({})).toBe('-')
  })
})
