import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../errors/gateway-error.js'
import { readCsv } from './read-csv.js'
import { readJson } from './read-json.js'

const csv = (text: string) => readCsv(Buffer.from(text))

function refusal(read: () => unknown): { code: string; message: string } {
  try {
    read()
  } catch (error) {
    if (GatewayError.is(error)) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('the file was accepted')
}

describe('readCsv', () => {
  it('reads quoted commas, doubled quotes and line breaks, with each record at its first line', () => {
    const read = csv(
      '\uFEFFid,name,tags\r\n' +
        'a,"Lab, north",site=lab\r\n' +
        '\r\n' +
        'b,"Say ""hi""","k={""x"":1}"\r\n' +
        'c,"two\r\nlines",\r\n' +
        'd,"three\r\nmore\r\nlines",\r\n' +
        'e,last,',
    )
    expect(read.columns).toEqual(['id', 'name', 'tags'])
    expect(read.problems).toEqual([])
    expect(read.rows).toEqual([
      { place: { line: 2 }, values: { id: 'a', name: 'Lab, north', tags: 'site=lab' } },
      { place: { line: 4 }, values: { id: 'b', name: 'Say "hi"', tags: 'k={"x":1}' } },
      { place: { line: 5 }, values: { id: 'c', name: 'two\r\nlines', tags: '' } },
      { place: { line: 7 }, values: { id: 'd', name: 'three\r\nmore\r\nlines', tags: '' } },
      { place: { line: 10 }, values: { id: 'e', name: 'last', tags: '' } },
    ])
  })

  it('counts lines in files that end records with LF or a lone CR', () => {
    for (const end of ['\n', '\r']) {
      const read = csv(`id,name${end}"a","x${end}y"${end}b,z${end}`)
      expect(read.rows.map((row) => row.place)).toEqual([{ line: 2 }, { line: 4 }])
    }
  })

  it('reports a row with the wrong number of fields by line, and keeps the others', () => {
    const read = csv('id,name\nok-1,x\nshort\nlong,x,y\n  \nok-2,y\n')
    expect(read.rows.map((row) => row.values.id)).toEqual(['ok-1', 'ok-2'])
    expect(read.problems).toEqual([
      { line: 3, id: 'short', field: null, reason: 'has 1 fields; the header has 2' },
      { line: 4, id: 'long', field: null, reason: 'has 3 fields; the header has 2' },
    ])
  })

  it('names a bad row by its id only when the cell is a device id', () => {
    const read = csv('name,id\nsecret value here\n')
    expect(read.problems[0]?.id).toBeNull()
  })

  it('refuses a quote left open, naming the line where its record starts', () => {
    const text = 'id,name\nok,x\nbroken,"never closed\nmore,y\nmore2,z\n'
    expect(refusal(() => csv(text))).toEqual({
      code: 'FC_ERR_IMPORT_FORMAT',
      message:
        'The file is not valid CSV: line 3: a quoted field starts in this record and is never closed',
    })
  })

  it('refuses stray quotes without repeating the cell (it may be a secret)', () => {
    const closing = refusal(() => csv('id,secret\na,"hunter2"x\n'))
    expect(closing.message).toMatch(/^The file is not valid CSV: line 2: .*doubled/)
    const opening = refusal(() => csv('id,secret\na,hunt"er2\n'))
    expect(opening.message).toMatch(/^The file is not valid CSV: line 2: .*quoted as a whole/)
    expect(`${closing.message}${opening.message}`).not.toContain('hunter2')
  })

  it('refuses unknown, repeated and missing columns before reading any row', () => {
    expect(refusal(() => csv('id,nmae,tag\na,b,c\n')).message).toBe(
      'the header (line 1): unknown column "nmae" (the columns are id, app, name, tags, acl_publish, acl_subscribe, enabled, secret); ' +
        'the header (line 1): unknown column "tag" (the columns are id, app, name, tags, acl_publish, acl_subscribe, enabled, secret)',
    )
    expect(refusal(() => csv('id,name,name\n')).message).toBe(
      'the header (line 1): column "name" appears twice',
    )
    expect(refusal(() => csv('\n\nname,app\n')).message).toBe(
      'the header (line 3): there is no id column',
    )
  })

  it('reads header names case-insensitively and ignoring surrounding spaces', () => {
    expect(csv(' ID , Name \na,b\n').rows[0]?.values).toEqual({ id: 'a', name: 'b' })
  })

  it('refuses an empty file', () => {
    for (const text of ['', '\uFEFF', '\r\n\n', ' , \n']) {
      expect(refusal(() => csv(text)).message).toMatch(/^The file is empty/)
    }
  })
})

describe('readJson', () => {
  const json = (value: unknown) => readJson(Buffer.from(JSON.stringify(value)))

  it('reads an array of objects by index; a non-object element is a bad row', () => {
    const read = json([{ id: 'a', tags: { site: 'lab' } }, 'b', { id: 'c', enabled: false }])
    expect(read.columns).toEqual(['id', 'tags', 'enabled'])
    expect(read.rows).toEqual([
      { place: { index: 0 }, values: { id: 'a', tags: { site: 'lab' } } },
      { place: { index: 2 }, values: { id: 'c', enabled: false } },
    ])
    expect(read.problems).toEqual([{ index: 1, id: null, field: null, reason: 'is not an object' }])
  })

  it('refuses JSON that is not an array, not JSON, empty, or has an unknown key', () => {
    expect(refusal(() => json({ id: 'a' })).message).toBe(
      'The file must hold a JSON array of device objects, not object',
    )
    expect(refusal(() => json(null)).message).toMatch(/not null$/)
    expect(refusal(() => readJson(Buffer.from('  '))).message).toMatch(/^The file is empty/)
    expect(refusal(() => readJson(Buffer.from('[\n{"id":"a"},\n{x}]'))).message).toBe(
      'The file is not valid JSON (line 3, character 2)',
    )
    expect(refusal(() => json([{ id: 'a' }, { id: 'b', colour: 'red' }])).message).toMatch(
      /^index 1: unknown column "colour"/,
    )
  })
})
