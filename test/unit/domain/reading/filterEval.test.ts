import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { compileFilter, type FilterableEvent } from '../../../../src/domain/reading/filterEval.js'
import { parseFilterText } from '../../../../src/domain/reading/filterText.js'

const event: FilterableEvent = {
  id: 'ev-1',
  type: 'order.placed',
  stream: 'order-7',
  version: 3,
  offset: 42,
  timestamp: new Date('2026-12-01T10:00:00.000Z'),
  payload: { total: 42.5, name: 'Ann', tags: ['a', 'b', 3], nothing: null, nested: { deep: { x: 1 } }, when: new Date('2026-11-01T00:00:00Z'), flag: true, list: [1, 2] },
  metadata: { user: 'u1', n: null },
}

/** Whether the text filter accepts the event. */
const holds = (text: string, e: FilterableEvent = event): boolean => {
  const f = parseFilterText(text)
  if (E.isLeft(f)) throw new Error(f.left.message)
  return compileFilter(f.right)(e)
}

describe('the filter evaluator (the contract’s semantics)', () => {
  it.each([
    ['type = "order.placed"', true],
    ['stream = "order-7"', true],
    ['id = "ev-1"', true],
    ['version = 3', true],
    ['offset = 42', true],
    ['payload.total > 40', true],
    ['payload.total >= 42.5 and payload.total <= 42.5', true],
    ['payload.total < 42.5', false],
    ['payload.nested.deep.x = 1', true],
    ['metadata.user = "u1"', true],
    ['type in ("x", "order.placed")', true],
    ['type in ()', false],
    ['version between 3 and 3', true],
    ['version between 4 and 9', false],
    ['stream prefix "order-"', true],
    ['stream prefix "Order-"', false],
  ])('%s → %s', (text, expected) => {
    expect(holds(text)).toBe(expected)
  })

  it('treats a path through a non-object or an absent key as missing: every comparison is false, ne too', () => {
    for (const p of ['payload.absent', 'payload.total.x', 'payload.name.length', 'payload.tags.0', 'metadata.absent', 'payload.nothing.x']) {
      for (const op of ['= 1', '!= 1', '> 1', '>= 1', '< 1', '<= 1', '= null', '!= null', 'in (1)', 'between 0 and 9', 'contains 1', 'prefix "a"']) {
        expect(holds(`${p} ${op}`), `${p} ${op}`).toBe(false)
      }
      expect(holds(`exists ${p}`)).toBe(false)
    }
    expect(holds('metadata.user = "u1"', { ...event, metadata: undefined })).toBe(false)
    expect(holds('exists metadata', { ...event, metadata: undefined })).toBe(false)
  })

  it('never reads inherited properties as keys', () => {
    expect(holds('exists payload.constructor')).toBe(false)
    expect(holds('exists payload.toString')).toBe(false)
    expect(holds('exists payload."__proto__"')).toBe(false)
  })

  it('tells ne apart from not eq on missing values', () => {
    expect(holds('payload.absent != 1')).toBe(false)
    expect(holds('not payload.absent = 1')).toBe(true)
    expect(holds('payload.total != 1')).toBe(true)
    expect(holds('payload.total != 42.5')).toBe(false)
  })

  it('says exists for a key present with null', () => {
    expect(holds('exists payload.nothing')).toBe(true)
    expect(holds('exists metadata.n')).toBe(true)
    expect(holds('payload.nothing = null')).toBe(true)
    expect(holds('payload.name = null')).toBe(false)
    expect(holds('exists payload')).toBe(true)
  })

  it('compares unlike kinds as false, never throwing', () => {
    expect(holds('payload.total = "42.5"')).toBe(false)
    expect(holds('payload.total != "42.5"')).toBe(false)
    expect(holds('payload.name > 1')).toBe(false)
    expect(holds('payload.name < 1')).toBe(false)
    expect(holds('version = "3"')).toBe(false)
    expect(holds('payload.flag = 1')).toBe(false)
    expect(holds('payload.tags = "a"')).toBe(false) // an array is not a scalar: use contains
    expect(holds('payload.nested = 1')).toBe(false)
    expect(holds('payload.total between 1 and "z"')).toBe(false)
    expect(holds('payload.nothing != 1')).toBe(false)
  })

  it('orders numbers numerically and strings by code unit; booleans and null only (un)equal', () => {
    expect(holds('payload.total > 9')).toBe(true) // not "42.5" > "9" as strings
    expect(holds('payload.name > "B"')).toBe(false) // "A" (0x41) < "B"
    expect(holds('payload.name > "A"')).toBe(true)
    expect(holds('payload.name < "a"')).toBe(true) // upper case sorts first
    expect(holds('payload.name = "ann"')).toBe(false)
    expect(holds('payload.flag = true')).toBe(true)
    expect(holds('payload.flag != false')).toBe(true)
    expect(holds('payload.flag >= true')).toBe(false)
    expect(holds('payload.nothing >= null')).toBe(false)
  })

  it('compares timestamp as a time, whatever the ISO-8601 spelling', () => {
    expect(holds('timestamp = "2026-12-01T10:00:00Z"')).toBe(true)
    expect(holds('timestamp = "2026-12-01T11:00:00+01:00"')).toBe(true)
    expect(holds('timestamp > "2026-12-01"')).toBe(true)
    expect(holds('timestamp < "2026-12-01T10:00:00.001Z"')).toBe(true)
    expect(holds('timestamp between "2026-12-01T10:00:00Z" and "2026-12-01T10:00:00Z"')).toBe(true)
    expect(holds('timestamp in ("2026-12-01T09:00:00-01:00")')).toBe(true)
    expect(holds('timestamp = "2026-12-01T10:00:00Z"', { ...event, timestamp: '2026-12-01T10:00:00.000Z' })).toBe(true)
    // a date inside a payload (msgpack) is a time too; a string there is a string
    expect(holds('payload.when < "2026-11-02"')).toBe(true)
    expect(holds('payload.when = "2026-11-01T00:00:00Z"')).toBe(true)
    expect(holds('payload.when = "Nov"')).toBe(false)
  })

  it('contains: a case-sensitive substring, or an array member of the same kind', () => {
    expect(holds('payload.name contains "nn"')).toBe(true)
    expect(holds('payload.name contains "NN"')).toBe(false)
    expect(holds('payload.name contains ""')).toBe(true)
    expect(holds('payload.tags contains "b"')).toBe(true)
    expect(holds('payload.tags contains 3')).toBe(true)
    expect(holds('payload.tags contains "3"')).toBe(false)
    expect(holds('payload.tags contains "c"')).toBe(false)
    expect(holds('payload.total contains 4')).toBe(false)
    expect(holds('payload.nested contains "deep"')).toBe(false)
  })

  it('combines with and, or, not', () => {
    expect(holds('type = "x" or version = 3')).toBe(true)
    expect(holds('type = "x" or version = 4')).toBe(false)
    expect(holds('type = "order.placed" and not version = 3')).toBe(false)
    expect(holds('not (type = "x" and version = 3)')).toBe(true)
  })

  it('is total over odd events (payload a scalar, an array, bytes, NaN)', () => {
    for (const payload of [5, 'str', [1, 2], new Uint8Array([1]), Number.NaN, true, { a: Number.NaN }]) {
      const e = { ...event, payload }
      expect(() => holds('payload = 5 or payload.a > 1 or payload contains 1 or payload.a != 2 or exists payload.a', e)).not.toThrow()
    }
    expect(holds('payload = 5', { ...event, payload: 5 })).toBe(true)
    expect(holds('payload contains "t"', { ...event, payload: 'str' })).toBe(true)
    expect(holds('payload.a != 2', { ...event, payload: { a: Number.NaN } })).toBe(false) // NaN is unordered: every comparison is false
    expect(holds('payload.a = 2 or payload.a < 2 or payload.a > 2', { ...event, payload: { a: Number.NaN } })).toBe(false)
  })
})
