import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { validateFilter, type Filter } from '../../../../src/domain/reading/filter.js'
import { compileFilter, type FilterableEvent } from '../../../../src/domain/reading/filterEval.js'
import { parseFilterText, printFilter } from '../../../../src/domain/reading/filterText.js'
import { admitsOffset, admitsStream, admitsTypes, impliedTypes, planScan } from '../../../../src/domain/reading/queryPlan.js'
import { queryFilter, validateQueryRequest } from '../../../../src/domain/reading/queryRequest.js'
import { anyFilter, collapse, worldFilter, type FilterWorld } from '../../../support/filterArbitrary.js'

const text = (s: string): Filter => {
  const r = parseFilterText(s)
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}
const ms = (iso: string) => Date.parse(iso)

describe('the scan planner', () => {
  it('narrows the subjects to the streams the filter implies by eq/in, in and, or every branch of or; never from not', () => {
    expect(planScan(text('stream = "order-1" and type = "a"')).streams).toEqual(['order-1'])
    expect(planScan(text('type = "a" and (version > 1 and stream in ("s-2"))')).streams).toEqual(['s-2'])
    expect(planScan(text('stream in ("b", "a")')).streams).toEqual(['a', 'b'])
    expect(planScan(text('stream = "a" or (stream = "b" and type = "x")')).streams).toEqual(['a', 'b'])
    expect(planScan(text('stream in ("a", "b") and stream in ("b", "c")')).streams).toEqual(['b'])
    expect(planScan(text('stream = "order-1" or type = "a"')).streams).toBeUndefined()
    expect(planScan(text('not stream = "order-1"')).streams).toBeUndefined()
    expect(planScan(text('stream != "order-1"')).streams).toBeUndefined()
    expect(planScan(text(`stream in (${Array.from({ length: 17 }, (_, i) => `"s-${i}"`).join(', ')})`)).streams).toBeUndefined()
    // a value outside the stream alphabet matches nothing and never reaches a subject
    expect(planScan(text('stream = "a.>"')).streams).toEqual([])
    expect(planScan(text('stream in ("*", "ok")')).streams).toEqual(['ok'])
    expect(planScan(text('stream = "a" and stream = "b"')).streams).toEqual([])
    expect(admitsStream(planScan(text('stream in ("a", "b")')), 'c')).toBe(false)
  })

  it('derives a types pre-filter from type eq/in in and, or of such; none otherwise', () => {
    expect(impliedTypes(text('type = "a" and version > 1'))).toEqual(new Set(['a']))
    expect(impliedTypes(text('type in ("a", "b") and type in ("b", "c")'))).toEqual(new Set(['b']))
    expect(impliedTypes(text('type = "a" or type in ("b", "c")'))).toEqual(new Set(['a', 'b', 'c']))
    expect(impliedTypes(text('(type = "a" and version = 1) or type = "b"'))).toEqual(new Set(['a', 'b']))
    expect(impliedTypes(text('type = "a" or version = 1'))).toBeUndefined()
    expect(impliedTypes(text('not type = "a"'))).toBeUndefined()
    expect(impliedTypes(text('type != "a"'))).toBeUndefined()
    expect(impliedTypes(text('type prefix "a"'))).toBeUndefined()
    expect(impliedTypes(text('type = 5'))).toEqual(new Set()) // can never match
    const plan = planScan(text('type in ("a", "b")'))
    expect(admitsTypes(plan, ['x', 'b'])).toBe(true)
    expect(admitsTypes(plan, ['x', 'y'])).toBe(false)
    expect(admitsTypes(plan, undefined)).toBe(true) // no header: decode to know
  })

  it('starts at the highest lower bound and ends at the lowest upper bound of offset and timestamp', () => {
    const p = planScan(text('offset >= 10 and offset > 12.5 and offset <= 40 and offset < 38.5 and timestamp >= "2026-01-01" and timestamp between "2026-02-01" and "2026-03-01T00:00:00Z"'), 5)
    expect(p).toMatchObject({ fromOffset: 13, toOffset: 38, sinceMs: ms('2026-02-01'), untilMs: ms('2026-03-01T00:00:00Z') })
    expect(planScan(text('offset >= 3'), 20).fromOffset).toBe(20)
    expect(planScan(text('offset = 7')).fromOffset).toBe(7)
    expect(planScan(text('offset = 7')).toOffset).toBe(7)
    expect(planScan(text('offset >= 3 or type = "a"')).fromOffset).toBeUndefined()
    expect(planScan(text('offset >= "3"')).fromOffset).toBeUndefined()
    expect(admitsOffset(planScan(text('offset between 4 and 6')), 7)).toBe(false)
    expect(planScan(undefined)).toMatchObject({})
    expect(planScan(undefined).matches).toBeTypeOf('function')
  })

  it('folds the request’s fields into the filter (stream, type, id, since, until, where)', () => {
    const q = validateQueryRequest({ stream: 's-1', type: 'a', since: '2026-01-01T00:00:00Z', until: '2026-02-01T00:00:00Z', where: 'payload.n > 1' })
    if (E.isLeft(q)) throw new Error('invalid')
    const plan = planScan(queryFilter(q.right))
    expect(plan).toMatchObject({ streams: ['s-1'], types: new Set(['a']), sinceMs: ms('2026-01-01T00:00:00Z'), untilMs: ms('2026-02-01T00:00:00Z') })
  })
})

const world: FilterWorld = {
  types: ['a', 'b', 'c'],
  streams: ['q-0', 'q-1', 'q-2'],
  stamps: ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.500Z', '2026-01-02T00:00:00.000Z'],
  maxOffset: 20,
  maxVersion: 6,
}

const eventArb: fc.Arbitrary<FilterableEvent> = fc.record({
  id: fc.constantFrom('e1', 'e2'),
  type: fc.constantFrom(...world.types),
  stream: fc.constantFrom(...world.streams),
  version: fc.integer({ min: 1, max: world.maxVersion }),
  offset: fc.integer({ min: 1, max: world.maxOffset }),
  timestamp: fc.constantFrom(...world.stamps).map((s) => new Date(s)),
  payload: fc.record(
    {
      n: fc.oneof(fc.integer({ min: -2, max: 6 }), fc.constantFrom('a', 'b'), fc.constant(null)),
      s: fc.constantFrom('a', 'ab', 'ba', '', 'A'),
      tags: fc.array(fc.oneof(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 3 })), { maxLength: 3 }),
      o: fc.oneof(fc.record({ x: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.constant(null)) }), fc.constant(3)),
    },
    { requiredKeys: [] },
  ),
  metadata: fc.option(fc.record({ k: fc.oneof(fc.constantFrom('a', 'b'), fc.constant(null)) }, { requiredKeys: [] }), { nil: undefined }),
})

describe('properties of the filter language', () => {
  it('the text form round-trips: parse(print(f)) = f (single-filter and/or printed as the filter)', () => {
    fc.assert(
      fc.property(anyFilter, (raw) => {
        const f = validateFilter(raw)
        expect(E.isRight(f)).toBe(true)
        if (E.isLeft(f)) return
        expect(validateFilter(JSON.parse(JSON.stringify(f.right)))).toEqual(f)
        const printed = printFilter(f.right)
        const back = parseFilterText(printed)
        expect(E.isRight(back) ? back.right : back.left.message).toEqual(collapse(f.right))
      }),
      { numRuns: 500 },
    )
  })

  it('the plan is sound: its stream, bounds and types never exclude an event the filter accepts', () => {
    let accepted = 0
    let pruned = 0
    fc.assert(
      fc.property(worldFilter(world), eventArb, fc.option(fc.integer({ min: 1, max: world.maxOffset }), { nil: undefined }), fc.subarray([...world.types]), (f, e, from, others) => {
        const plan = planScan(f, from)
        const accepts = compileFilter(f)(e)
        expect(plan.matches(e)).toBe(accepts)
        if (plan.streams !== undefined || plan.types !== undefined || plan.fromOffset !== undefined || plan.untilMs !== undefined) pruned++
        if (!accepts || (from !== undefined && e.offset < from)) return
        accepted++
        expect(admitsStream(plan, e.stream)).toBe(true)
        expect(admitsOffset(plan, e.offset)).toBe(true)
        const t = (e.timestamp as Date).getTime()
        expect(plan.sinceMs === undefined || plan.sinceMs <= t).toBe(true)
        expect(plan.untilMs === undefined || t <= plan.untilMs).toBe(true)
        // the commit's header lists this event's type among others of the commit
        expect(admitsTypes(plan, [...others, e.type])).toBe(true)
        expect(plan.types?.size).not.toBe(0)
      }),
      { numRuns: 3_000 },
    )
    // not vacuous: many filters accept the event, and many plans prune something
    expect(accepted).toBeGreaterThan(300)
    expect(pruned).toBeGreaterThan(300)
  })
})
