import * as fc from 'fast-check'
import type { AnalyticsRequest } from '../../src/domain/analytics/analyticsRequest.js'
import type { Filter } from '../../src/domain/reading/filter.js'
import type { FilterableEvent } from '../../src/domain/reading/filterEval.js'
import { type FilterWorld, worldFilter } from './filterArbitrary.js'

const DAY = 86_400_000
/** A Sunday evening, so logs cross a week boundary. */
export const analyticsBase = Date.parse('2026-11-29T22:30:00.000Z')

export const analyticsTypes = ['a', 'b', 'c'] as const
export const analyticsStreams = ['s-0', 's-1', 's-2', 's-3'] as const

/** A commit to append: a stream, its events' types and small payloads. */
export interface LogCommit {
  readonly stream: string
  readonly events: readonly { readonly type: string; readonly payload: { readonly n: number } }[]
}

export const logCommit: fc.Arbitrary<LogCommit> = fc.record({
  stream: fc.constantFrom(...analyticsStreams),
  events: fc.array(fc.record({ type: fc.constantFrom(...analyticsTypes), payload: fc.record({ n: fc.integer({ min: 0, max: 5 }) }) }), { minLength: 1, maxLength: 3 }),
})

/**
 * A random log in log order: commits with versions per stream, offsets per commit, and timestamps
 * that mostly move forward by minutes to hours (sometimes a day, sometimes a little back, as a
 * stepped clock would), so every bucket, period and `withinMs` boundary gets exercised.
 */
export const analyticsLog: fc.Arbitrary<FilterableEvent[]> = fc
  .array(fc.tuple(logCommit, fc.oneof(fc.integer({ min: 0, max: 90 * 60_000 }), fc.integer({ min: -5 * 60_000, max: 0 }), fc.constant(DAY), fc.constant(0))), { maxLength: 30 })
  .map((commits) => {
    const versions = new Map<string, number>()
    const out: FilterableEvent[] = []
    let t = analyticsBase
    commits.forEach(([c, step], i) => {
      t += step
      for (const e of c.events) {
        const version = (versions.get(c.stream) ?? 0) + 1
        versions.set(c.stream, version)
        out.push({ id: `e${out.length}`, type: e.type, stream: c.stream, version, offset: i + 1, timestamp: new Date(t), payload: e.payload })
      }
    })
    return out
  })

const defaultWorld: FilterWorld = {
  types: [...analyticsTypes],
  streams: [...analyticsStreams],
  stamps: [0, 1, 3, 12, 30, 48].map((h) => new Date(analyticsBase + h * 3_600_000).toISOString()),
  maxOffset: 30,
  maxVersion: 20,
}

/** Filters that often match part of a log of `world`: by type, and random ones of the query language. */
export const analyticsFilterOf = (world: FilterWorld): fc.Arbitrary<Filter> =>
  fc.oneof(
    fc.constantFrom(...world.types).map((t): Filter => ({ eq: ['type', t] })),
    fc.constantFrom(...world.types).map((t): Filter => ({ and: [{ eq: ['type', t] }, { gte: ['payload.n', 2] }] })),
    worldFilter(world, 2),
  )

const within = fc.oneof(fc.constantFrom(0, 1, 50, 60_000, 3_600_000, DAY), fc.integer({ min: 0, max: 3 * DAY }))

/** Valid requests of every kind (as `validateAnalyticsRequest` gives them), `since`/`until` from `time`, filters over `world`. */
export const analyticsRequestOf = (world: FilterWorld, time: fc.Arbitrary<Date>): fc.Arbitrary<AnalyticsRequest> => {
  const filter = analyticsFilterOf(world)
  const scope = fc
    .record({ since: time, until: time, where: filter }, { requiredKeys: [] })
    .map((s) => (s.since !== undefined && s.until !== undefined && s.since > s.until ? { ...s, since: s.until, until: s.since } : s))
  return fc.oneof(
    fc.tuple(scope, fc.constantFrom('minute', 'hour', 'day' as const)).map(([s, bucket]): AnalyticsRequest => ({ ...s, kind: 'frequency', bucket })),
    fc.tuple(scope, fc.integer({ min: 1, max: 5 })).map(([s, top]): AnalyticsRequest => ({ ...s, kind: 'summary', top })),
    fc.tuple(scope, fc.array(filter, { minLength: 1, maxLength: 4 }), within).map(([s, steps, withinMs]): AnalyticsRequest => ({ ...s, kind: 'funnel', steps, withinMs })),
    fc.tuple(scope, fc.constantFrom('day', 'week' as const)).map(([s, period]): AnalyticsRequest => ({ ...s, kind: 'retention', period })),
    fc.tuple(scope, filter, filter, within).map(([s, a, b, withinMs]): AnalyticsRequest => ({ ...s, kind: 'correlation', a, b, withinMs })),
    // Thresholds no simple z equals: a z exactly on the threshold would depend on the order of float sums.
    fc.tuple(scope, fc.constantFrom('minute', 'hour', 'day' as const), fc.constantFrom(0.77, 1.33, 2.21)).map(([s, bucket, threshold]): AnalyticsRequest => ({ ...s, kind: 'anomalies', bucket, threshold })),
  )
}

/** Requests over {@link analyticsLog}s. */
export const analyticsRequest = analyticsRequestOf(defaultWorld, fc.integer({ min: -DAY, max: 3 * DAY }).map((d) => new Date(analyticsBase + d)))

/** A request as a client sends it in JSON: times as ISO strings, the kind in the subject. */
export const wireBody = (r: AnalyticsRequest): Record<string, unknown> => {
  const { kind: _kind, since, until, ...rest } = r
  return { ...rest, ...(since !== undefined ? { since: since.toISOString() } : {}), ...(until !== undefined ? { until: until.toISOString() } : {}) }
}

/** A reply with every `z` rounded to 9 decimals (the fold and the brute force sum in different orders). */
export const roundZ = (r: unknown): unknown =>
  typeof r === 'object' && r !== null && 'anomalies' in r && Array.isArray(r.anomalies)
    ? { anomalies: (r.anomalies as { z: number }[]).map((a) => ({ ...a, z: Math.round(a.z * 1e9) / 1e9 })) }
    : r
