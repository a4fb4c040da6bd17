import { headers } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { pack, unpack } from 'msgpackr'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { createQuery, type Query, type QueryPage } from '../../../src/adapters/nats/reading/query.js'
import { replayEvents, type ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import type { Filter } from '../../../src/domain/reading/filter.js'
import { compileFilter } from '../../../src/domain/reading/filterEval.js'
import { printFilter } from '../../../src/domain/reading/filterText.js'
import { validateQueryRequest } from '../../../src/domain/reading/queryRequest.js'
import { worldFilter, type FilterWorld } from '../../support/filterArbitrary.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('query with where: the filter language against a real nats-server', () => {
  // The served processor's scan budget is small, so pages also end on it; `default` has the default budget.
  const fixture = withProcessor({ queryScanBudget: 7 })
  let all: ReplayedEvent[] = []
  let world: FilterWorld
  /** Queries with small scan budgets, so pages also end because the budget is spent. */
  const budgets = new Map<number | 'default', Query>()

  const tenants = ['acme', 'beta', 'gamma'] as const
  /** Each tenant's events in log order: three random logs, interleaved in one JetStream stream. */
  const logs = new Map<string, ReplayedEvent[]>()
  const seed = Number(process.env.QUERY_SEED ?? 20261204)

  beforeAll(async () => {
    const { app, nc } = fixture()
    const event = fc.record(
      {
        type: fc.constantFrom('a', 'b', 'c'),
        payload: fc.record(
          {
            n: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant('a')),
            s: fc.constantFrom('a', 'ab', 'ba', '', 'A'),
            tags: fc.array(fc.oneof(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 2 })), { maxLength: 3 }),
            o: fc.oneof(fc.record({ x: fc.integer({ min: 0, max: 5 }) }), fc.constant(3)),
          },
          { requiredKeys: ['n'] },
        ),
        metadata: fc.record({ k: fc.oneof(fc.constantFrom('a', 'b'), fc.constant(null)) }),
      },
      { requiredKeys: ['type', 'payload'] },
    )
    const commit = fc.record({ stream: fc.constantFrom('q-0', 'q-1', 'q-2', 'q-3'), events: fc.array(event, { minLength: 1, maxLength: 4 }) })
    const random = fc.sample(fc.array(commit, { minLength: 25, maxLength: 40 }), { numRuns: tenants.length, seed })
    for (let c = 0; c < 40; c++) {
      for (const [t, tenant] of tenants.entries()) {
        const next = random[t]?.[c]
        if (next !== undefined) await app.append(tenant, next.stream, next.events)
      }
      if (c % 15 === 14) await new Promise((r) => setTimeout(r, 20)) // a few distinct timestamps
    }
    for (const tenant of tenants) {
      const events: ReplayedEvent[] = []
      for await (const e of replayEvents(nc, { tenant })) events.push(e)
      logs.set(tenant, events)
    }
    all = logs.get('acme') ?? []
    const every = [...logs.values()].flat()
    const stamps = [...new Set(every.map((e) => new Date(e.timestamp).toISOString()))].sort()
    world = { types: ['a', 'b', 'c'], streams: ['q-0', 'q-1', 'q-3'], stamps, maxOffset: Math.max(...every.map((e) => e.offset)), maxVersion: 25 }
    for (const b of [2, 3, 10]) budgets.set(b, createQuery(nc, { scanBudget: b, consumers: app.consumers }))
    budgets.set('default', createQuery(nc, { consumers: app.consumers }))
  })

  /** Every page of a query from the start, following nextOffset. */
  const pages = async (body: Record<string, unknown>, budget: number | 'default' | undefined, tenant = 'acme'): Promise<QueryPage[]> => {
    const out: QueryPage[] = []
    let from: number | undefined
    do {
      const full = { ...body, ...(from !== undefined ? { fromOffset: from } : {}) }
      let r: E.Either<unknown, QueryPage>
      if (budget === undefined) r = await fixture().app.query(tenant, full)
      else {
        const q = validateQueryRequest(full)
        if (E.isLeft(q)) throw new Error(JSON.stringify(q.left))
        r = await (budgets.get(budget) as Query)(tenant, q.right)
      }
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
      out.push(r.right)
      from = r.right.nextOffset
    } while (from !== undefined && out.length < 1_000)
    return out
  }

  it('property: for random logs, paging a query with a random where equals the brute-force filter of all events; pages hold whole commits', async () => {
    let nonEmpty = 0
    await fc.assert(
      fc.asyncProperty(
        worldFilter(world),
        fc.boolean(),
        fc.integer({ min: 1, max: 25 }),
        fc.constantFrom<number | 'default' | undefined>(undefined, 'default', 2, 10),
        fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        fc.constantFrom(...tenants),
        async (where: Filter, asText, limit, budget, type, tenant) => {
          const accepts = compileFilter(where)
          const expected = (logs.get(tenant) ?? []).filter((e) => accepts(e) && (type === undefined || e.type === type))
          if (expected.length > 0) nonEmpty++
          const got = await pages({ where: asText ? printFilter(where) : where, limit, ...(type !== undefined ? { type } : {}) }, budget, tenant)
          expect(got.flatMap((p) => p.events).map((e) => `${e.offset}/${e.id}`)).toEqual(expected.map((e) => `${e.offset}/${e.id}`))
          for (const p of got) {
            const offsets = [...new Set(p.events.map((e) => e.offset))]
            // Whole commits: every match of a commit on the page is on the page.
            for (const off of offsets) expect(p.events.filter((e) => e.offset === off)).toHaveLength(expected.filter((e) => e.offset === off).length)
            expect(p.events.length <= limit || offsets.length === 1).toBe(true)
          }
        },
      ),
      { numRuns: 50, seed },
    )
    // The property is not vacuous: many random filters have answers.
    expect(nonEmpty).toBeGreaterThan(15)
  })

  it('answers the page so far with nextOffset when the scan budget is spent', async () => {
    const q = validateQueryRequest({ where: 'payload.absent = 1' })
    if (E.isLeft(q)) throw new Error('invalid')
    const first = await (budgets.get(3) as Query)('acme', q.right)
    expect(first).toEqual(E.right({ events: [], nextOffset: expect.any(Number) }))
    // the next page starts after the three commits examined
    const acme = [...new Set(all.map((e) => e.offset))]
    expect(E.isRight(first) && first.right.nextOffset).toBe((acme[2] as number) + 1)
  })

  it('the client follows pages, empty ones ended by the scan budget included, to the answer', async () => {
    const client = createAllSourceClient(fixture().nc)
    expect(await client.query('acme', { where: 'payload.absent = 1' })).toEqual({ events: [] })
    const b = await client.query('acme', { where: { eq: ['type', 'b'] }, limit: 10_000 })
    expect(b.events.map((e) => e.offset)).toEqual(all.filter((e) => e.type === 'b').map((e) => e.offset))
    const few = await client.query('acme', { where: 'type = "a"', limit: 2 })
    expect(few.events.length).toBeGreaterThanOrEqual(2)
    expect(few.nextOffset).toBeGreaterThan(few.events.at(-1)?.offset ?? 0)
  })

  it('uses the plan: a pinned stream and an offset range give the same answer as the brute force', async () => {
    const from = all[Math.floor(all.length / 3)]?.offset as number
    const body = { where: `stream = "q-1" and offset >= ${from} and offset <= ${from + 60} and type in ("a", "c")` }
    const got = (await pages(body, undefined)).flatMap((p) => p.events)
    expect(got.length).toBeGreaterThan(0)
    expect(got).toEqual(all.filter((e) => e.stream === 'q-1' && e.offset >= from && e.offset <= from + 60 && (e.type === 'a' || e.type === 'c')))

    const two = (await pages({ where: 'stream = "q-3" or stream = "q-1" and payload.n = 2' }, undefined)).flatMap((p) => p.events)
    expect(two.length).toBeGreaterThan(0)
    expect(two).toEqual(all.filter((e) => e.stream === 'q-3' || (e.stream === 'q-1' && (e.payload as { n: unknown }).n === 2)))
    expect(await fixture().app.query('acme', { where: 'stream = "a.>" or stream in ("*")' })).toEqual(E.right({ events: [] }))
  })

  it('takes where over NATS in JSON and msgpack, text or JSON form, and answers faults with their path or position', async () => {
    const { nc } = fixture()
    const h = headers()
    h.set('Content-Type', 'application/json')
    const json = async (body: unknown) => JSON.parse(new TextDecoder().decode((await nc.request('allsource.query.acme', JSON.stringify(body), { headers: h, timeout: 5_000 })).data))
    const text = await json({ where: 'type = "b" and payload.n >= 2', limit: 5 })
    expect(text.events.length).toBeGreaterThan(0)
    expect(text.events.every((e: { type: string; payload: { n: number } }) => e.type === 'b' && e.payload.n >= 2)).toBe(true)
    expect(await json({ where: { and: [{ eq: ['type', 'b'] }, { gte: ['payload.n', 2] }] }, limit: 5 })).toEqual(text)
    const m = await nc.request('allsource.query.acme', pack({ where: { gt: ['timestamp', new Date(0)] }, limit: 1 }), { timeout: 5_000 })
    expect((unpack(m.data) as { events: unknown[] }).events.length).toBeGreaterThan(0)

    const bad = await nc.request('allsource.query.acme', JSON.stringify({ where: { or: [{ eq: ['type', 'a'] }, { gt: ['payload.n'] }] } }), { headers: h, timeout: 5_000 })
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('400')
    expect(JSON.parse(new TextDecoder().decode(bad.data)).error).toMatchObject({ code: 'BAD_REQUEST', field: 'where', path: 'or[1].gt' })
    expect((await json({ where: 'type = "a" and\n  payload.n >' })).error).toMatchObject({ code: 'BAD_REQUEST', field: 'where', offset: 28, line: 2, column: 14 })
  })

  it('fuzz: any where (random text, mutated filters, random JSON) gets a result or BAD_REQUEST with a path or position, never INTERNAL', async () => {
    const { nc } = fixture()
    const h = headers()
    h.set('Content-Type', 'application/json')
    const mutate = (s: string, at: number, cut: number, insert: string) => s.slice(0, at % (s.length + 1)) + insert + s.slice((at % (s.length + 1)) + cut)
    const whereArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.tuple(worldFilter(world), fc.nat(), fc.nat({ max: 4 }), fc.constantFrom('', '(', ')', '"', '\\', 'and', 'not', ',', '=', '1e999', '.', 'in (')).map(([f, at, cut, ins]) =>
        mutate(printFilter(f), at, cut, ins),
      ),
      fc.jsonValue({ maxDepth: 4 }),
      worldFilter(world).map((f) => JSON.parse(JSON.stringify(f).replace(/"(eq|in|and|between)"/, '"$1x"')) as unknown),
      fc.nat({ max: 3_000 }).map((n) => `${'('.repeat(n)}type = "a"${')'.repeat(n)}`),
    )
    let answered = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(whereArb, fc.boolean(), async (where, msgpack) => {
        const m = msgpack
          ? await nc.request('allsource.query.acme', pack({ where, limit: 3 }), { timeout: 10_000 })
          : await nc.request('allsource.query.acme', JSON.stringify({ where, limit: 3 }), { headers: h, timeout: 10_000 })
        const body = (msgpack ? unpack(m.data) : JSON.parse(new TextDecoder().decode(m.data))) as { events?: unknown[]; error?: Record<string, unknown> }
        if (body.error === undefined) {
          expect(Array.isArray(body.events)).toBe(true)
          answered++
          return
        }
        refused++
        expect(body.error.code).toBe('BAD_REQUEST')
        expect(m.headers?.get('Nats-Service-Error-Code')).toBe('400')
        expect(typeof body.error.path === 'string' || typeof body.error.offset === 'number').toBe(true)
      }),
      { numRuns: 300, seed },
    )
    expect(answered).toBeGreaterThan(20)
    expect(refused).toBeGreaterThan(20)
  })
})
