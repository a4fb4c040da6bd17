import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { filterLimits } from '../../../../src/domain/reading/filter.js'
import { parseFilterText, printFilter } from '../../../../src/domain/reading/filterText.js'

const parse = (s: string) => {
  const r = parseFilterText(s)
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}
const fault = (s: string) => {
  const r = parseFilterText(s)
  if (E.isRight(r)) throw new Error(`parsed: ${JSON.stringify(r.right)}`)
  return r.left
}

describe('the text form of a filter', () => {
  it('parses the contract’s example to the same JSON', () => {
    expect(parse('type = "order.placed" and payload.total > 40')).toEqual({ and: [{ eq: ['type', 'order.placed'] }, { gt: ['payload.total', 40] }] })
  })

  it.each([
    ['version = 3', { eq: ['version', 3] }],
    ['version != 3', { ne: ['version', 3] }],
    ['version > 3', { gt: ['version', 3] }],
    ['version >= 3', { gte: ['version', 3] }],
    ['version < 3', { lt: ['version', 3] }],
    ['version <= 3', { lte: ['version', 3] }],
    ['type in ("a", "b")', { in: ['type', ['a', 'b']] }],
    ['type in ()', { in: ['type', []] }],
    ['payload.n between 1 and 5', { between: ['payload.n', 1, 5] }],
    ['payload.tags contains "x"', { contains: ['payload.tags', 'x'] }],
    ['exists metadata.k', { exists: 'metadata.k' }],
    ['stream prefix "order-"', { prefix: ['stream', 'order-'] }],
    ['not type = "a"', { not: { eq: ['type', 'a'] } }],
    ['timestamp >= "2026-12-01T10:00:00Z"', { gte: ['timestamp', '2026-12-01T10:00:00Z'] }],
    ['id = "0193-ab"', { eq: ['id', '0193-ab'] }],
    ['offset < 10', { lt: ['offset', 10] }],
  ])('%s', (text, json) => {
    expect(parse(text)).toEqual(json)
  })

  it('reads literals: escapes, numbers, true, false, null', () => {
    expect(parse('payload.s = "a\\"b\\\\c\\n\\u00e9\\/"')).toEqual({ eq: ['payload.s', 'a"b\\c\né/'] })
    expect(parse('payload.n = -1.5e3')).toEqual({ eq: ['payload.n', -1500] })
    expect(parse('payload.n = 0')).toEqual({ eq: ['payload.n', 0] })
    expect(parse('payload.b = true or payload.b = false or payload.b = null')).toEqual({
      or: [{ eq: ['payload.b', true] }, { eq: ['payload.b', false] }, { eq: ['payload.b', null] }],
    })
  })

  it('reads paths: bare segments with digits and dashes, and quoted segments', () => {
    expect(parse('payload.items.0.sku-id = "x"')).toEqual({ eq: ['payload.items.0.sku-id', 'x'] })
    expect(parse('payload."first name" = "Ann"')).toEqual({ eq: ['payload.first name', 'Ann'] })
    expect(parse('payload.and = 1')).toEqual({ eq: ['payload.and', 1] }) // a segment is never a keyword
  })

  it('binds not tighter than and, and tighter than or; parentheses group', () => {
    const a = { eq: ['type', 'a'] }
    const b = { eq: ['type', 'b'] }
    const c = { eq: ['type', 'c'] }
    expect(parse('type = "a" or type = "b" and type = "c"')).toEqual({ or: [a, { and: [b, c] }] })
    expect(parse('type = "a" and type = "b" or type = "c"')).toEqual({ or: [{ and: [a, b] }, c] })
    expect(parse('(type = "a" or type = "b") and type = "c"')).toEqual({ and: [{ or: [a, b] }, c] })
    expect(parse('not type = "a" and type = "b"')).toEqual({ and: [{ not: a }, b] })
    expect(parse('not (type = "a" and type = "b")')).toEqual({ not: { and: [a, b] } })
    expect(parse('not not type = "a"')).toEqual({ not: { not: a } })
    expect(parse('(type = "a" and type = "b") and type = "c"')).toEqual({ and: [{ and: [a, b] }, c] })
    expect(parse('payload.n between 1 and 5 and type = "a"')).toEqual({ and: [{ between: ['payload.n', 1, 5] }, a] })
  })

  it('takes keywords in any case, spread over lines', () => {
    expect(parse('type = "a"\n  AND NOT exists payload.x\n  Or version IN (1)')).toEqual({
      or: [{ and: [{ eq: ['type', 'a'] }, { not: { exists: 'payload.x' } }] }, { in: ['version', [1]] }],
    })
  })

  it.each([
    ['type = ', 7, ['a value (a "string", a number, true, false or null)'], 'the end of the text'],
    ['type "a"', 5, ['= != > >= < <=', 'in', 'between', 'contains', 'prefix'], '"a"'],
    ['(type = "a"', 11, ['"and"', '"or"', '")"'], 'the end of the text'],
    ['type = "a" type = "b"', 11, ['"and"', '"or"', 'the end of the text'], '"type"'],
    ['type in ("a" "b")', 13, ['","', '")"'], '"b"'],
    ['payload.n between 1 or 2', 20, ['"and"'], '"or"'],
    ['and = 1', 0, ['a path (type, stream, version, offset, timestamp, id, payload.…, metadata.…)'], '"and"'],
    ['stream prefix 5', 14, ['a "string"'], '5'],
  ])('%j: an error at offset %i saying what was expected', (text, offset, expected, found) => {
    const f = fault(text)
    expect(f).toMatchObject({ offset, expected, found })
    expect(f.message).toContain(`(offset ${offset})`)
  })

  it('gives line and column on later lines', () => {
    const f = fault('type = "a"\nand\n  version >')
    expect(f).toMatchObject({ offset: 26, line: 3, column: 12 })
    expect(f.message).toContain('at 3:12')
  })

  it.each([
    ['nope = 1', 0, 'unknown path "nope"'],
    ['type.x = 1', 0, 'type has no fields'],
    ['timestamp > "yesterday"', 12, 'ISO-8601'],
    ['timestamp > 5', 12, 'ISO-8601'],
    ['timestamp contains "2026"', 0, 'not to timestamp'],
    ['type = "unterminated', 20, 'unterminated string'],
    ['type = "bad \\q escape"', 12, 'expected an escape'],
    ['type ! "a"', 5, 'expected !='],
    ['version = 1e999', 10, 'finite'],
    ['version = 12abc', 12, 'after a number'],
    ['type = "a" & 1', 11, 'expected a path, a value'],
    ['payload. = 1', 8, 'a path segment'],
  ])('refuses %j at offset %i (%s)', (text, offset, words) => {
    const f = fault(text)
    expect(f.offset).toBe(offset)
    expect(f.message).toContain(words)
  })

  it('bounds depth, nodes and length, without a stack overflow', () => {
    expect(fault(`${'('.repeat(20_000)}type = "a"${')'.repeat(20_000)}`).message).toContain('nest at most')
    expect(fault(`${'not '.repeat(5_000)}type = "a"`).message).toContain('nest at most')
    expect(fault(Array.from({ length: 1_001 }, () => 'version = 1').join(' or ')).message).toContain(`at most ${filterLimits.maxNodes} nodes`)
    expect(fault('x'.repeat(filterLimits.maxTextLength + 1)).message).toContain('characters')
  })

  it('prints a filter back to text that parses to it', () => {
    const f = { or: [{ and: [{ eq: ['payload.first name', 'a"b'] }, { not: { or: [{ exists: 'metadata.k' }, { in: ['type', ['x', 'y']] }] } }] }, { between: ['payload.n', -1, 2.5] }] } as const
    expect(printFilter(f)).toBe('payload."first name" = "a\\"b" and not (exists metadata.k or type in ("x", "y")) or payload.n between -1 and 2.5')
    expect(parse(printFilter(f))).toEqual(f)
    expect(printFilter({ and: [{ and: [{ exists: 'payload' }] }] })).toBe('exists payload')
  })
})
