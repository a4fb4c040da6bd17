import { headers } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { replayEvents, type ReplayedEvent } from '../../../src/adapters/nats/reading/replay.js'
import type { QueryPage } from '../../../src/adapters/nats/reading/query.js'
import { withProcessor } from '../../support/processorFixture.js'

describe('query the log: allsource.query.<tenant>', () => {
  const fixture = withProcessor()
  let all: ReplayedEvent[] = []
  let stamps: number[] = []

  const query = async (body: Record<string, unknown>): Promise<QueryPage> => {
    const r = await fixture().app.query('acme', body)
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
    return r.right
  }
  /** Every page of a query, following nextOffset. */
  const pages = async (body: Record<string, unknown>): Promise<QueryPage[]> => {
    const out: QueryPage[] = []
    let from: number | undefined = body.fromOffset as number | undefined
    do {
      const page = await query({ ...body, ...(from !== undefined ? { fromOffset: from } : {}) })
      out.push(page)
      from = page.nextOffset
    } while (from !== undefined && out.length < 500)
    return out
  }

  beforeAll(async () => {
    const { app } = fixture()
    let i = 0
    for (let burst = 0; burst < 3; burst++) {
      for (let c = 0; c < 60; c++, i++) {
        const size = 1 + (i % 4)
        const events = Array.from({ length: size }, (_, k) => ({ type: ['a', 'b', 'c'][(i + k) % 3] as string, payload: { i, k }, id: `ev-${i}-${k}` }))
        await app.append(i % 7 === 0 ? 'other' : 'acme', `q-${i % 5}`, events)
      }
      await new Promise((r) => setTimeout(r, 30))
    }
    for await (const e of replayEvents(fixture().nc, { tenant: 'acme' })) all.push(e)
    stamps = [...new Set(all.map((e) => new Date(e.timestamp).getTime()))].sort((a, b) => a - b)
  })

  it('property: every query, paged, equals a brute-force filter of all events; pages hold whole commits', async () => {
    const maxOffset = all.at(-1)?.offset ?? 1
    let nonEmpty = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            stream: fc.constantFrom('q-0', 'q-1', 'q-4', 'q-9'),
            type: fc.constantFrom('a', 'b', 'c', 'zzz'),
            since: fc.integer({ min: 0, max: stamps.length - 1 }),
            until: fc.integer({ min: 0, max: stamps.length - 1 }),
            fromOffset: fc.integer({ min: 1, max: maxOffset + 2 }),
          },
          { requiredKeys: [] },
        ),
        fc.integer({ min: 1, max: 40 }),
        async (f, limit) => {
          const since = f.since !== undefined ? stamps[f.since] : undefined
          const until = f.until !== undefined ? stamps[f.until] : undefined
          if (since !== undefined && until !== undefined && since > until) return true
          const body = {
            limit,
            ...(f.stream !== undefined ? { stream: f.stream } : {}),
            ...(f.type !== undefined ? { type: f.type } : {}),
            ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
            ...(until !== undefined ? { until: new Date(until).toISOString() } : {}),
            ...(f.fromOffset !== undefined ? { fromOffset: f.fromOffset } : {}),
          }
          const expected = all.filter(
            (e) =>
              (f.stream === undefined || e.stream === f.stream) &&
              (f.type === undefined || e.type === f.type) &&
              (since === undefined || new Date(e.timestamp).getTime() >= since) &&
              (until === undefined || new Date(e.timestamp).getTime() <= until) &&
              (f.fromOffset === undefined || e.offset >= f.fromOffset),
          )
          if (expected.length > 0) nonEmpty++
          const got = await pages(body)
          const flat = got.flatMap((p) => p.events)
          expect(flat.map((e) => `${e.offset}/${e.id}`)).toEqual(expected.map((e) => `${e.offset}/${e.id}`))
          for (const p of got) {
            const offsets = [...new Set(p.events.map((e) => e.offset))]
            // Whole commits: every match of a commit on the page is on the page.
            for (const off of offsets) expect(p.events.filter((e) => e.offset === off)).toHaveLength(expected.filter((e) => e.offset === off).length)
            expect(p.events.length <= limit || offsets.length === 1).toBe(true)
          }
          return true
        },
      ),
      { numRuns: 60 },
    )
    // The property is not vacuous: most random queries have answers.
    expect(nonEmpty).toBeGreaterThan(5)
  })

  it('finds an event by id through the index, and before the index has it', async () => {
    const target = all[37] as ReplayedEvent
    expect((await query({ id: target.id })).events).toEqual([target])
    const indexer = await fixture().app.startIdIndexer()
    await expect.poll(async () => (await query({ id: target.id })).events.length).toBe(1)
    expect((await query({ id: target.id })).events).toEqual([target])
    expect((await query({ id: 'ev-0-0' })).events).toEqual([]) // tenant "other"
    expect((await query({ id: 'nope' })).events).toEqual([])
    await indexer.stop()
  })

  it('never shows one tenant another tenant’s events', async () => {
    const r = await fixture().app.query('other', {})
    expect(E.isRight(r) && r.right.events.every((e) => e.tenant === 'other')).toBe(true)
    expect(E.isRight(r) && r.right.events.length).toBeGreaterThan(0)
  })

  it.each([
    [{ since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' }, 'BadRequest'],
    [{ limit: -1 }, 'BadRequest'],
    [{ limit: 10_001 }, 'BadRequest'],
    [{ limit: 'many' }, 'BadRequest'],
    [{ fromOffset: 0 }, 'BadRequest'],
    [{ since: 'yesterday' }, 'BadRequest'],
    [{ stream: 'q-*' }, 'InvalidId'],
    [{ stream: '>' }, 'InvalidId'],
    [{ type: 'a.>' }, 'InvalidId'],
    [{ id: 'has space' }, 'InvalidId'],
  ])('refuses %j', async (body, tag) => {
    const r = await fixture().app.query('acme', body)
    expect(E.isLeft(r) && r.left._tag).toBe(tag)
  })

  it('answers over NATS in JSON, and refuses a tenant that would widen the subject', async () => {
    const h = headers()
    h.set('Content-Type', 'application/json')
    const m = await fixture().nc.request('allsource.query.acme', JSON.stringify({ type: 'b', limit: 5 }), { headers: h, timeout: 5_000 })
    const body = JSON.parse(new TextDecoder().decode(m.data))
    expect(body.events.length).toBeGreaterThanOrEqual(5)
    expect(body.events.every((e: { type: string; tenant: string }) => e.type === 'b' && e.tenant === 'acme')).toBe(true)
    expect(typeof body.nextOffset).toBe('number')
    const bad = await fixture().nc.request('allsource.query.ac=me', JSON.stringify({}), { headers: h, timeout: 5_000 })
    expect(JSON.parse(new TextDecoder().decode(bad.data)).error.code).toBe('INVALID_ID')
  })
})
