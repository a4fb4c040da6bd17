import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { FilterCodec, validateFilter } from '../../../../src/domain/reading/filter.js'
import { parseWhere } from '../../../../src/domain/reading/where.js'
import { validateQueryRequest } from '../../../../src/domain/reading/queryRequest.js'

const faultOf = (u: unknown) => {
  const r = validateFilter(u)
  if (E.isRight(r)) throw new Error(`valid: ${JSON.stringify(r.right)}`)
  return r.left
}

describe('the filter validator (JSON form)', () => {
  it('accepts every operator of the contract', () => {
    const f = {
      and: [
        { or: [{ eq: ['type', 'a'] }, { ne: ['stream', 's'] }] },
        { not: { gt: ['version', 1] } },
        { gte: ['offset', 2] },
        { lt: ['payload.a.b', 'x'] },
        { lte: ['metadata.k', true] },
        { in: ['id', ['x', 'y']] },
        { between: ['timestamp', '2026-01-01', '2026-12-31T23:59:59.999Z'] },
        { contains: ['payload.tags', null] },
        { exists: 'metadata.k' },
        { prefix: ['stream', 'order-'] },
      ],
    }
    expect(validateFilter(f)).toEqual(E.right(f))
  })

  it('normalises msgpack dates to ISO strings and -0 to 0', () => {
    expect(validateFilter({ gt: ['timestamp', new Date('2026-01-01T00:00:00Z')] })).toEqual(E.right({ gt: ['timestamp', '2026-01-01T00:00:00.000Z'] }))
    const r = validateFilter({ eq: ['payload.n', -0] })
    expect(E.isRight(r) && Object.is((r.right as { eq: [string, number] }).eq[1], 0)).toBe(true)
  })

  it.each([
    [{ or: [{ gt: ['version'] }] }, 'or[0].gt', 'takes [path, value]'],
    [{ or: [{ eq: ['type', 'a'] }, { gt: 5 }] }, 'or[1].gt', 'takes [path, value]'],
    [{ and: [{ nope: ['type', 'a'] }] }, 'and[0].nope', 'unknown operator'],
    [{ eq: ['type', 'a'], ne: ['type', 'b'] }, '', 'exactly one operator'],
    [{}, '', 'exactly one operator'],
    ['type = "a"', '', 'an object with one operator'],
    [[{ eq: ['type', 'a'] }], '', 'an object with one operator'],
    [null, '', 'an object with one operator'],
    [{ and: [] }, 'and', 'non-empty array'],
    [{ or: {} }, 'or', 'non-empty array'],
    [{ not: [] }, 'not', 'an object with one operator'],
    [{ eq: ['nope', 1] }, 'eq[0]', 'unknown path'],
    [{ eq: [5, 1] }, 'eq[0]', 'a path is a string'],
    [{ eq: ['payload..a', 1] }, 'eq[0]', 'never empty'],
    [{ eq: ['version.x', 1] }, 'eq[0]', 'has no fields'],
    [{ eq: ['payload.a', { x: 1 }] }, 'eq[1]', 'an operand is'],
    [{ eq: ['payload.a', [1]] }, 'eq[1]', 'an operand is'],
    [{ eq: ['payload.a', Number.NaN] }, 'eq[1]', 'finite'],
    [{ gt: ['timestamp', 'yesterday'] }, 'gt[1]', 'ISO-8601'],
    [{ gt: ['timestamp', 1_700_000_000_000] }, 'gt[1]', 'ISO-8601'],
    [{ gt: ['timestamp', '2026-01-01T10:00:00'] }, 'gt[1]', 'ISO-8601'], // no zone: ambiguous
    [{ in: ['type', 'a'] }, 'in[1]', 'takes [path, [values]]'],
    [{ in: ['timestamp', ['2026-01-01', 'x']] }, 'in[1][1]', 'ISO-8601'],
    [{ between: ['version', 1] }, 'between', '[path, low, high]'],
    [{ between: ['timestamp', '2026-01-01', 'later'] }, 'between[2]', 'ISO-8601'],
    [{ contains: ['timestamp', '2026'] }, 'contains[0]', 'not to timestamp'],
    [{ exists: 5 }, 'exists', 'a path is a string'],
    [{ prefix: ['stream', 5] }, 'prefix[1]', 'takes a string'],
    [{ not: { and: [{ eq: ['type', 'a'] }, { or: [{ lte: ['x', 1] }] }] } }, 'not.and[1].or[0].lte[0]', 'unknown path'],
  ])('%j: fault at %j', (u, path, words) => {
    const f = faultOf(u)
    expect(f.path).toBe(path)
    expect(f.message).toContain(words)
  })

  it('refuses 64-bit integers (msgpack) and other non-JSON operands', () => {
    expect(faultOf({ eq: ['payload.a', 10n] })).toMatchObject({ path: 'eq[1]' })
    expect(faultOf({ eq: ['payload.a', new Uint8Array(2)] })).toMatchObject({ path: 'eq[1]' })
    expect(faultOf({ eq: ['payload.a', new Date(Number.NaN)] })).toMatchObject({ path: 'eq[1]' })
  })

  it('bounds depth, nodes and list sizes, without a stack overflow', () => {
    let deep: unknown = { eq: ['type', 'a'] }
    for (let i = 0; i < 20_000; i++) deep = { not: deep }
    expect(faultOf(deep).message).toContain('nest at most')
    expect(faultOf({ or: Array.from({ length: 1_000 }, () => ({ eq: ['type', 'a'] })) }).message).toContain('at most 1000 nodes')
    expect(faultOf({ in: ['version', Array.from({ length: 10_001 }, (_, i) => i)] }).path).toBe('in[1]')
    expect(faultOf({ eq: ['payload.s', 'x'.repeat(10_001)] }).path).toBe('eq[1]')
    expect(faultOf({ exists: `payload${'.a'.repeat(32)}` }).message).toContain('segments')
  })

  it('is an io-ts codec that reports the path', () => {
    expect(FilterCodec.is({ exists: 'payload' })).toBe(true)
    const r = FilterCodec.decode({ or: [{ gt: ['version'] }] })
    expect(E.isLeft(r) && r.left[0]?.message).toContain('or[0].gt: gt takes [path, value]')
  })
})

describe('where in a query request', () => {
  it('takes the JSON form or the text form, to the same filter', () => {
    const json = validateQueryRequest({ where: { and: [{ eq: ['type', 'a'] }, { gt: ['payload.total', 40] }] } })
    const text = validateQueryRequest({ where: 'type = "a" and payload.total > 40' })
    expect(E.isRight(json) && json.right.where).toEqual({ and: [{ eq: ['type', 'a'] }, { gt: ['payload.total', 40] }] })
    expect(text).toEqual(json)
    expect(validateQueryRequest({ where: null })).toEqual(validateQueryRequest({}))
  })

  it('answers BAD_REQUEST with the path of the fault, or its position in the text', () => {
    expect(parseWhere({ or: [{ gt: 5 }] })).toEqual(E.left({ _tag: 'BadRequest', message: 'where: or[0].gt: gt takes [path, value]', details: { field: 'where', path: 'or[0].gt' } }))
    const text = parseWhere('type = "a" and\npayload.total >')
    expect(text).toMatchObject(E.left({ _tag: 'BadRequest', details: { field: 'where', offset: 30, line: 2, column: 16 } }))
    expect(E.isLeft(text) && text.left._tag === 'BadRequest' && text.left.message).toContain('expected a value')
    expect(validateQueryRequest({ where: 42 })).toMatchObject(E.left({ _tag: 'BadRequest', details: { path: '' } }))
  })
})
