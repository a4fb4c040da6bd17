import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { decodePipeline, type PipelineDefinition } from '../../../src/domain/pipelines/definition.js'
import { compilePipeline, runStages, type PipelineState } from '../../../src/domain/pipelines/pipeline.js'
import { foldAll, isProjectionKey, type ProjectedEvent } from '../../../src/domain/projections/projection.js'
import type { EventId, EventType, Version } from '../../../src/domain/streams/ids.js'

const T0 = Date.parse('2026-12-01T00:00:00Z')
const ev = (offset: number, o: { type?: string; stream?: string; tenant?: string; at?: number; payload?: unknown } = {}): ProjectedEvent => ({
  id: `e${offset}` as EventId,
  type: (o.type ?? 'order.placed') as EventType,
  version: 1 as Version,
  timestamp: new Date(T0 + (o.at ?? offset * 1_000)),
  payload: o.payload ?? { total: offset },
  tenant: o.tenant ?? 'acme',
  stream: o.stream ?? `order-${offset}`,
  offset,
})

const json = (u: unknown) => decodePipeline(u)
const ok = (u: unknown): PipelineDefinition => {
  const r = json(u)
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}

describe('pipeline definitions (JSON)', () => {
  it('decodes every stage kind, version defaulting to 1', () => {
    const def = ok({
      name: 'big-orders',
      stages: [
        { filter: 'type = "order.placed" and payload.total > 40' },
        { enrich: { projection: 'customers', key: 'payload.customer', as: 'customer' } },
        { map: { fields: { total: 'payload.total', who: 'payload.customer' } } },
        { branch: [{ where: { gt: ['payload.total', 100] }, to: 'huge' }, { where: { exists: 'payload.total' }, to: 'big' }] },
        { reduce: { key: 'payload.who', aggregates: { n: { count: true }, sum: { sum: 'payload.total' }, hi: { max: 'payload.total' } }, window: { sliding: { sizeMs: 60_000, slideMs: 10_000 } }, graceMs: 5_000 } },
      ],
      sink: { stream: { name: 'order-stats', type: 'order.stats' } },
    })
    expect(def.version).toBe(1)
    expect(def.stages).toHaveLength(5)
  })

  it.each([
    [{ name: 'x', stages: [{ mapp: {} }], sink: { readModel: {} } }, 'pipeline.stages[0]'],
    [{ name: 'x', stages: [{ filter: { gt: ['payload.a'] } }], sink: { readModel: {} } }, 'pipeline.stages[0].filter'],
    [{ name: 'x', stages: [{ reduce: { aggregates: { n: { count: true } }, window: { tumbling: { sizeMs: 0 } } } }], sink: { readModel: {} } }, 'pipeline.stages[0].reduce.window.tumbling.sizeMs'],
    [{ name: 'x', stages: [{ reduce: { aggregates: { start: { count: true } } } }], sink: { readModel: {} } }, 'pipeline.stages[0].reduce'],
    [{ name: 'x', stages: [{ reduce: { aggregates: { n: { count: true } } } }, { filter: { exists: 'id' } }], sink: { readModel: {} } }, 'pipeline.stages[0].reduce'],
    [{ name: 'x', stages: [{ map: { fields: { a: 'nope.x' } } }], sink: { readModel: {} } }, 'pipeline.stages[0].map.fields.a'],
    [{ name: 'x', stages: [], sink: { stream: { name: 'a b' } } }, 'pipeline.sink.stream.name'],
    [{ name: 'x y', stages: [], sink: { readModel: {} } }, 'pipeline.name'],
    [{ name: 'x', stages: [], sink: { readModel: {} }, extra: 1 }, 'pipeline.extra'],
    [{ name: 'x', stages: [{ reduce: { aggregates: { n: { count: true } }, window: { sliding: { sizeMs: 1000, slideMs: 1 } } } }], sink: { readModel: {} } }, 'pipeline.stages[0].reduce.window.sliding'],
    ['not an object', 'pipeline'],
  ])('refuses %j with BAD_REQUEST at %s', (u, path) => {
    const r = json(u)
    expect(E.isLeft(r) && r.left._tag === 'BadRequest' && r.left.details?.['path']).toBe(path)
  })

  it('never throws on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (u) => void json(u)))
    fc.assert(fc.property(fc.jsonValue(), (u) => void json({ name: 'p', stages: [u], sink: { readModel: {} } })))
  })
})

describe('stateless stages', () => {
  it('map selects and renames; filter after map sees the new payload; branch routes by first match', () => {
    const def = ok({ name: 'p', stages: [{ map: { fields: { amount: 'payload.total', kind: 'type', missing: 'payload.nope' } } }, { filter: { gte: ['payload.amount', 2] } }, { branch: [{ where: { gt: ['payload.amount', 5] }, to: 'big' }, { where: { gt: ['payload.amount', 3] }, to: 'mid' }] }], sink: { readModel: {} } })
    const out = [1, 2, 4, 6].map((n) => runStages(def.stages, ev(n)))
    expect(out.map((s) => (s._tag === 'Out' ? s.record && { payload: s.record.payload, route: s.record.route } : 'need'))).toEqual([
      undefined,
      undefined,
      { payload: { amount: 4, kind: 'order.placed' }, route: 'mid' },
      { payload: { amount: 6, kind: 'order.placed' }, route: 'big' },
    ])
  })

  it('enrich asks for the key, then attaches what it is given (nothing when absent)', () => {
    const def = ok({ name: 'p', stages: [{ enrich: { projection: 'customers', key: 'payload.c', as: 'customer' } }, { map: { fields: { c: 'payload.c', name: 'payload.customer.name' } } }], sink: { readModel: {} } })
    const step = runStages(def.stages, ev(1, { payload: { c: 'c-1' } }))
    expect(step._tag === 'Need' && [step.projection, step.tenant, step.key]).toEqual(['customers', 'acme', 'c-1'])
    if (step._tag !== 'Need') return
    expect(step.resume({ name: 'Ada' })).toMatchObject({ _tag: 'Out', record: { payload: { c: 'c-1', name: 'Ada' } } })
    expect(step.resume(undefined)).toMatchObject({ _tag: 'Out', record: { payload: { c: 'c-1' } } })
  })

  it('an event folded without its lookup (a defect of the adapter) gets no projection key, so the fold parks on it as poison', () => {
    const def = ok({ name: 'p', stages: [{ enrich: { projection: 'customers', key: 'payload.c', as: 'customer' } }], sink: { readModel: {} } })
    const key = compilePipeline(def).projection.key(ev(1, { payload: { c: 'c-1' } }))
    expect(key).toContain('enrich from "customers" was not looked up')
    expect(isProjectionKey(key ?? '')).toBe(false)
  })
})

const events = fc
  .array(fc.record({ customer: fc.constantFrom('a', 'b', 'c', 'bad key', undefined), total: fc.oneof(fc.integer({ min: -50, max: 200 }), fc.constant('x')), type: fc.constantFrom('order.placed', 'order.paid'), dt: fc.integer({ min: 0, max: 5_000 }) }), { maxLength: 80 })
  .map((rs) => {
    let at = 0
    return rs.map((r, i) => {
      at += r.dt
      return ev(i + 1, { type: r.type, at, payload: r.customer === undefined ? { total: r.total } : { customer: r.customer, total: r.total } })
    })
  })

describe('reduce, against a brute force over the same events', () => {
  it('count/sum/min/max/last per key, unwindowed', () => {
    const def = ok({ name: 'p', stages: [{ filter: { eq: ['type', 'order.placed'] } }, { reduce: { key: 'payload.customer', aggregates: { n: { count: true }, sum: { sum: 'payload.total' }, lo: { min: 'payload.total' }, hi: { max: 'payload.total' }, last: { last: 'payload.total' } } } }], sink: { readModel: {} } })
    const p = compilePipeline(def).projection
    fc.assert(
      fc.property(events, (es) => {
        const expected = new Map<string, unknown>()
        for (const c of ['a', 'b', 'c']) {
          const mine = es.filter((e) => e.type === 'order.placed' && (e.payload as { customer?: string }).customer === c)
          if (mine.length === 0) continue
          const totals = mine.map((e) => (e.payload as { total: unknown }).total)
          const nums = totals.filter((t): t is number => typeof t === 'number')
          expected.set(`acme.${c}`, {
            value: { n: mine.length, sum: nums.reduce((a, b) => a + b, 0), ...(nums.length > 0 ? { lo: Math.min(...nums), hi: Math.max(...nums) } : {}), last: totals.at(-1) },
          })
        }
        expect(foldAll(p, es)).toEqual(expected)
      }),
    )
  })

  it('a tumbling count per key: the closed windows are the per-key buckets whose end the key has reached', () => {
    const size = 3_000
    const def = ok({ name: 'p', stages: [{ map: { fields: { customer: 'payload.customer' } } }, { reduce: { key: 'payload.customer', aggregates: { n: { count: true } }, window: { tumbling: { sizeMs: size } }, retain: 1_000 } }], sink: { readModel: {} } })
    const p = compilePipeline(def).projection
    fc.assert(
      fc.property(events, (es) => {
        const got = foldAll(p, es) as Map<string, PipelineState>
        for (const c of ['a', 'b', 'c']) {
          const mine = es.filter((e) => (e.payload as { customer?: string }).customer === c).map((e) => e.timestamp.getTime())
          const newest = Math.max(...mine)
          const buckets = new Map<number, number>()
          for (const t of mine) buckets.set(Math.floor(t / size) * size, (buckets.get(Math.floor(t / size) * size) ?? 0) + 1)
          const closed = [...buckets].filter(([s]) => s + size <= newest).sort((x, y) => x[0] - y[0])
          const open = [...buckets].filter(([s]) => s + size > newest)
          const state = got.get(`acme.${c}`)
          if (mine.length === 0) {
            expect(state).toBeUndefined()
            continue
          }
          expect(state?.closed ?? []).toEqual(closed.map(([s, n]) => ({ key: c, start: new Date(s).toISOString(), end: new Date(s + size).toISOString(), n })))
          expect(state?.windows?.open.map((w) => [w.start, (w.acc as { n: number }).n])).toEqual(open)
        }
        // "bad key" is not a valid read-model key: skipped, not poison.
        expect([...got.keys()].every((k) => ['acme.a', 'acme.b', 'acme.c'].includes(k))).toBe(true)
      }),
    )
  })

  it('a derived-stream sink emits each closed window once, in the entry of the commit that closed it', () => {
    const def = ok({ name: 'p', stages: [{ reduce: { aggregates: { n: { count: true } }, window: { tumbling: { sizeMs: 1_000 } } } }], sink: { stream: { name: 'stats' } } })
    const p = compilePipeline(def).projection
    const es = [ev(1, { at: 0 }), ev(2, { at: 500 }), ev(3, { at: 1_200 }), ev(4, { at: 3_100 }), ev(5, { stream: 'stats', at: 9_000 })]
    const outs: unknown[] = []
    let s: PipelineState = p.initialState
    for (const e of es) {
      if (p.key(e) === undefined) continue
      s = p.fold(s, e)
      outs.push(s.out?.emissions.map((x) => [x.stream, x.type, x.payload]))
    }
    expect(outs).toEqual([[], [], [['stats', 'p.window', { key: 'all', start: new Date(T0).toISOString(), end: new Date(T0 + 1_000).toISOString(), n: 2 }]], [['stats', 'p.window', { key: 'all', start: new Date(T0 + 1_000).toISOString(), end: new Date(T0 + 2_000).toISOString(), n: 1 }]]])
  })
})

describe('text filters', () => {
  it('a filter in its text form decodes to its JSON form, in filter and branch stages', () => {
    const def = ok({ name: 'p', stages: [{ filter: 'payload.total > 40' }, { branch: [{ where: 'type = "a"', to: 'x' }] }], sink: { readModel: {} } })
    expect(def.stages).toEqual([{ filter: { gt: ['payload.total', 40] } }, { branch: [{ where: { eq: ['type', 'a'] }, to: 'x' }] }])
  })
})
