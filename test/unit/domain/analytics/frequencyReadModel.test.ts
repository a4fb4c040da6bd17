import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AnalyticsRequest, type AnomaliesRequest, type FrequencyRequest, scopeFilter } from '../../../../src/domain/analytics/analyticsRequest.js'
import { analyticsFold } from '../../../../src/domain/analytics/analytics.js'
import { anomaliesOfCounts } from '../../../../src/domain/analytics/anomalies.js'
import { type Bucket, startOfIndex, indexOf } from '../../../../src/domain/analytics/buckets.js'
import { frequencyOfCounts, frequencyReadModelShape, readModelCounts, typesOnly } from '../../../../src/domain/analytics/frequencyReadModel.js'
import { eventFrequency, type EventFrequencyState } from '../../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent } from '../../../../src/domain/projections/projection.js'
import type { Filter } from '../../../../src/domain/reading/filter.js'
import { compileFilter, type FilterableEvent } from '../../../../src/domain/reading/filterEval.js'
import { bruteForce } from '../../../support/analyticsBruteForce.js'

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const base = Date.parse('2026-11-29T22:30:00.000Z')
const types = ['a', 'b', 'c'] as const

/**
 * Logs whose clock jumps far enough, forwards and back, for the read model to drop minutes (older
 * than about 25 hours) and hours (about 31 days) before each type's newest event, and to receive
 * events older than what it still keeps.
 */
const log: fc.Arbitrary<FilterableEvent[]> = fc
  .array(
    fc.tuple(
      fc.constantFrom(...types),
      fc.oneof(
        fc.integer({ min: 0, max: 90 * MIN }),
        fc.constantFrom(0, HOUR, 20 * HOUR, DAY, 2 * DAY, 10 * DAY, 29 * DAY, -30 * MIN, -26 * HOUR, -3 * DAY, -32 * DAY),
      ),
    ),
    { maxLength: 40 },
  )
  .map((steps) => {
    let t = base
    return steps.map(([type, step], i) => {
      t += step
      return { id: `e${i}`, type, stream: `s-${i % 3}`, version: Math.floor(i / 3) + 1, offset: i + 1, timestamp: new Date(t), payload: {} }
    })
  })

/** The read model's state per type after folding `events`, as the projection would have it. */
const statesOf = (events: readonly FilterableEvent[]): Map<string, EventFrequencyState> => {
  const folded = foldAll(
    eventFrequency,
    events.map((e): ProjectedEvent => ({ ...e, tenant: 't' }) as unknown as ProjectedEvent),
  )
  return new Map([...folded.entries()].map(([k, s]) => [k.slice(2), s]))
}

/** `where` filters that name only types (the shapes the read model answers). */
const typeWhere: fc.Arbitrary<Filter> = fc.oneof(
  fc.constantFrom(...types).map((t): Filter => ({ eq: ['type', t] })),
  fc.subarray([...types, 'zzz']).map((ts): Filter => ({ in: ['type', ts] })),
  fc.tuple(fc.constantFrom(...types), fc.constantFrom(...types)).map(([x, y]): Filter => ({ or: [{ eq: ['type', x] }, { eq: ['type', y] }] })),
  fc.constant<Filter>({ and: [{ in: ['type', ['a', 'b']] }, { eq: ['type', 'b'] }] }),
)

/** A bucket-aligned `since` / `until` near the log's times. */
const aligned = (bucket: Bucket) =>
  fc.record(
    {
      since: fc.integer({ min: -40 * DAY, max: 60 * DAY }).map((d) => new Date(startOfIndex(indexOf(base + d, bucket), bucket))),
      until: fc.integer({ min: -40 * DAY, max: 60 * DAY }).map((d) => new Date(startOfIndex(indexOf(base + d, bucket) + 1, bucket) - 1)),
      where: typeWhere,
    },
    { requiredKeys: [] },
  )

const qualifying: fc.Arbitrary<FrequencyRequest | AnomaliesRequest> = fc
  .constantFrom<Bucket>('minute', 'hour', 'day')
  .chain((bucket) => fc.tuple(fc.constant(bucket), aligned(bucket), fc.boolean()))
  .map(([bucket, s, anomalies]) => {
    const scope = s.since !== undefined && s.until !== undefined && s.since > s.until ? { ...s, since: new Date(startOfIndex(indexOf(s.until.getTime(), bucket), bucket)) } : s
    return anomalies ? { ...scope, kind: 'anomalies' as const, bucket, threshold: 1.33 } : { ...scope, kind: 'frequency' as const, bucket }
  })

/** The scan's answer: the kind's fold over the events of the scope. */
const folded = (r: AnalyticsRequest, events: readonly FilterableEvent[]): unknown => {
  const scope = scopeFilter(r)
  const admits = scope === undefined ? () => true : compileFilter(scope)
  const fold = analyticsFold(r)
  for (const e of events) if (admits(e)) fold.add(e, (e.timestamp as Date).getTime())
  const out = fold.result()
  return out._tag === 'Right' ? out.right : { error: 'BAD_REQUEST' }
}

/** An anomalies reply with each z to 9 significant digits. */
const zRelative = (r: unknown): unknown =>
  typeof r === 'object' && r !== null && 'anomalies' in r && Array.isArray(r.anomalies)
    ? { anomalies: (r.anomalies as { z: number }[]).map((a) => ({ ...a, z: Number(a.z.toPrecision(9)) })) }
    : r

/** The read-model answer (undefined when it cannot answer), as runAnalytics computes it. */
const fromReadModel = (r: FrequencyRequest | AnomaliesRequest, events: readonly FilterableEvent[]): unknown => {
  const shape = frequencyReadModelShape(r)
  if (shape === undefined) throw new Error('a qualifying request was refused')
  const byType = statesOf(events)
  const states = shape._tag === 'All' ? [...byType.values()] : shape.types.flatMap((t) => (byType.has(t) ? [byType.get(t) as EventFrequencyState] : []))
  const counts = readModelCounts(r, states)
  if (counts === undefined) return undefined
  if (r.kind === 'frequency') return frequencyOfCounts(r.bucket, counts)
  const a = anomaliesOfCounts(r, counts)
  return a._tag === 'Right' ? a.right : { error: 'BAD_REQUEST' }
}

describe('frequency and anomalies from the event-frequency read model equal the brute force over the log', () => {
  it('whenever the read model answers; and it answers whenever the range is still kept', () => {
    let answered = 0
    let runs = 0
    fc.assert(
      fc.property(log, qualifying, (events, r) => {
        runs++
        const got = fromReadModel(r, events)
        if (got === undefined) return
        answered++
        const want = bruteForce(r as AnalyticsRequest, events)
        if (r.kind === 'frequency') expect(got).toEqual(want)
        else {
          // The same bits as the scan's fold; the brute force sums in another order (z to 1e-9, relatively).
          expect(got).toEqual(folded(r, events))
          expect(zRelative(got)).toEqual(zRelative(want))
        }
      }),
      { numRuns: 500 },
    )
    // Not vacuous: most requests are answered (day buckets always are).
    expect(answered).toBeGreaterThan(runs / 2)
  }, 120_000)

  it('a day bucket is always answered (day counts are kept for ever)', () => {
    fc.assert(
      fc.property(log, qualifying.filter((r) => r.bucket === 'day'), (events, r) => {
        expect(fromReadModel(r, events)).not.toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })

  it('minutes within the newest hour and the 24 before it are answered, older ones not', () => {
    const at = (iso: string, type = 'a'): FilterableEvent => ({ id: iso, type, stream: 's', version: 1, offset: 1, timestamp: new Date(iso), payload: {} })
    const events = [at('2026-12-01T10:05:00Z'), at('2026-12-02T09:59:00Z'), at('2026-12-02T10:30:00Z'), at('2026-12-02T10:31:30Z')]
    const r = (since: string): FrequencyRequest => ({ kind: 'frequency', bucket: 'minute', since: new Date(since) })
    // The newest is 2026-12-02T10:31: minutes are kept from 2026-12-01T10:00.
    expect(fromReadModel(r('2026-12-01T10:00:00Z'), events)).toEqual({
      buckets: [
        { start: '2026-12-01T10:05:00.000Z', count: 1 },
        { start: '2026-12-02T09:59:00.000Z', count: 1 },
        { start: '2026-12-02T10:30:00.000Z', count: 1 },
        { start: '2026-12-02T10:31:00.000Z', count: 1 },
      ],
    })
    const older = [at('2026-12-01T09:59:00Z'), ...events]
    expect(fromReadModel(r('2026-12-01T09:00:00Z'), older)).toBeUndefined()
    // The same log from a later start needs only kept minutes; and with no since, the old one is needed.
    expect(fromReadModel(r('2026-12-01T10:00:00Z'), older)).toEqual(fromReadModel(r('2026-12-01T10:00:00Z'), events))
    expect(fromReadModel({ kind: 'frequency', bucket: 'minute' }, older)).toBeUndefined()
    // Hours of that day are all kept: the hour bucket answers from the start.
    expect(fromReadModel({ kind: 'frequency', bucket: 'hour' }, older)).toEqual(bruteForce({ kind: 'frequency', bucket: 'hour' }, older))
  })
})

describe('which shapes the read model answers', () => {
  const f = (o: Partial<FrequencyRequest>): FrequencyRequest => ({ kind: 'frequency', bucket: 'hour', ...o })
  it('no where, or a where that names only types', () => {
    expect(frequencyReadModelShape(f({}))).toEqual({ _tag: 'All' })
    expect(frequencyReadModelShape(f({ where: { eq: ['type', 'x'] } }))).toEqual({ _tag: 'Only', types: ['x'] })
    expect(frequencyReadModelShape(f({ where: { in: ['type', ['y', 'x', 3]] } }))).toEqual({ _tag: 'Only', types: ['x', 'y'] })
    expect(frequencyReadModelShape(f({ where: { eq: ['type', 5] } }))).toEqual({ _tag: 'Only', types: [] })
    expect(frequencyReadModelShape(f({ where: { or: [{ eq: ['type', 'x'] }, { in: ['type', ['z']] }] } }))).toEqual({ _tag: 'Only', types: ['x', 'z'] })
    expect(frequencyReadModelShape(f({ where: { and: [{ in: ['type', ['x', 'y']] }, { eq: ['type', 'y'] }] } }))).toEqual({ _tag: 'Only', types: ['y'] })
  })
  it('not a where that says more than the type', () => {
    for (const where of [
      { eq: ['stream', 's'] },
      { ne: ['type', 'x'] },
      { not: { eq: ['type', 'x'] } },
      { prefix: ['type', 'x'] },
      { and: [{ eq: ['type', 'x'] }, { gt: ['payload.n', 1] }] },
      { or: [{ eq: ['type', 'x'] }, { exists: 'payload.n' }] },
      { and: [] },
      { or: [] },
      { gte: ['timestamp', '2026-12-01T00:00:00Z'] },
    ] as Filter[]) {
      expect(typesOnly(where)).toBeUndefined()
      expect(frequencyReadModelShape(f({ where }))).toBeUndefined()
    }
  })
  it('since on a bucket start, until on a bucket end (inclusive), or absent', () => {
    const d = (iso: string) => new Date(iso)
    expect(frequencyReadModelShape(f({ since: d('2026-12-01T10:00:00Z'), until: d('2026-12-01T12:59:59.999Z') }))).toEqual({ _tag: 'All' })
    expect(frequencyReadModelShape(f({ since: d('2026-12-01T10:00:00.001Z') }))).toBeUndefined()
    expect(frequencyReadModelShape(f({ until: d('2026-12-01T13:00:00Z') }))).toBeUndefined()
    expect(frequencyReadModelShape(f({ bucket: 'day', since: d('2026-12-01T10:00:00Z') }))).toBeUndefined()
    expect(frequencyReadModelShape(f({ bucket: 'day', since: d('2026-12-01T00:00:00Z'), until: d('2026-12-01T23:59:59.999Z') }))).toEqual({ _tag: 'All' })
    expect(frequencyReadModelShape(f({ bucket: 'minute', since: d('0001-01-01T00:00:00Z'), until: d('9999-12-31T23:59:59.999Z') }))).toEqual({ _tag: 'All' })
  })
})
