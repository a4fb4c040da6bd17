import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { analyticsFold } from '../../../../src/domain/analytics/analytics.js'
import { type AnalyticsRequest, scopeFilter, validateAnalyticsRequest } from '../../../../src/domain/analytics/analyticsRequest.js'
import { compileFilter, type FilterableEvent } from '../../../../src/domain/reading/filterEval.js'
import { analyticsLog, analyticsRequest, roundZ } from '../../../support/analyticsArbitrary.js'
import { bruteForce } from '../../../support/analyticsBruteForce.js'

/** The fold over the events of the request's scope, as the scan feeds it. */
const folded = (r: AnalyticsRequest, log: readonly FilterableEvent[]): unknown => {
  const scope = scopeFilter(r)
  const admits = scope === undefined ? () => true : compileFilter(scope)
  const fold = analyticsFold(r)
  for (const e of log) if (admits(e)) fold.add(e, (e.timestamp as Date).getTime())
  const out = fold.result()
  return E.isRight(out) ? out.right : { error: 'BAD_REQUEST' }
}

describe('analytics folds equal a brute-force computation over random logs', () => {
  for (const kind of ['frequency', 'summary', 'funnel', 'retention', 'correlation', 'anomalies'] as const) {
    it(kind, () => {
      fc.assert(
        fc.property(analyticsLog, analyticsRequest.filter((r) => r.kind === kind), (log, r) => {
          expect(roundZ(folded(r, log))).toEqual(roundZ(bruteForce(r, log)))
        }),
        { numRuns: 200 },
      )
    })
  }
})

const ev = (stream: string, version: number, type: string, iso: string): FilterableEvent => ({
  id: `${stream}-${version}`,
  type,
  stream,
  version,
  offset: version,
  timestamp: new Date(iso),
  payload: {},
})

const run = (body: Record<string, unknown>, kind: Parameters<typeof validateAnalyticsRequest>[0], log: readonly FilterableEvent[]): unknown => {
  const r = validateAnalyticsRequest(kind, body)
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return folded(r.right, log)
}

describe('analytics by example (the contract’s reply shapes)', () => {
  const log = [
    ev('o-1', 1, 'cart', '2026-12-01T10:00:05Z'),
    ev('o-1', 2, 'checkout', '2026-12-01T10:20:00Z'),
    ev('o-2', 1, 'cart', '2026-12-01T10:30:00Z'),
    ev('o-1', 3, 'paid', '2026-12-01T11:10:00Z'),
    ev('o-2', 2, 'checkout', '2026-12-02T09:00:00Z'),
    ev('o-3', 1, 'cart', '2026-12-08T09:00:00Z'),
    ev('o-1', 4, 'cart', '2026-12-08T10:00:00Z'),
  ]
  it('frequency: ISO UTC bucket starts, empty buckets omitted', () => {
    expect(run({ bucket: 'day' }, 'frequency', log)).toEqual({
      buckets: [
        { start: '2026-12-01T00:00:00.000Z', count: 4 },
        { start: '2026-12-02T00:00:00.000Z', count: 1 },
        { start: '2026-12-08T00:00:00.000Z', count: 2 },
      ],
    })
  })
  it('summary: by count descending, ties by name', () => {
    expect(run({ where: 'type != "paid"', top: 2 }, 'summary', log)).toEqual({
      types: [
        { type: 'cart', count: 4 },
        { type: 'checkout', count: 2 },
      ],
      streams: [
        { stream: 'o-1', count: 3 },
        { stream: 'o-2', count: 2 },
      ],
      days: [
        { day: '2026-12-01', count: 3 },
        { day: '2026-12-08', count: 2 },
        { day: '2026-12-02', count: 1 },
      ],
    })
  })
  it('funnel: streams per step; later steps within withinMs of the start', () => {
    const steps = [{ eq: ['type', 'cart'] }, { eq: ['type', 'checkout'] }, { eq: ['type', 'paid'] }]
    expect(run({ steps, withinMs: 3_600_000 }, 'funnel', log)).toEqual({ steps: [{ count: 3 }, { count: 1 }, { count: 0 }] })
    expect(run({ steps, withinMs: 86_400_000 }, 'funnel', log)).toEqual({ steps: [{ count: 3 }, { count: 2 }, { count: 1 }] })
  })
  it('retention: cohorts by ISO week (Monday), active streams per later week', () => {
    expect(run({ period: 'week' }, 'retention', log)).toEqual({
      cohorts: [
        { start: '2026-11-30T00:00:00.000Z', size: 2, active: [2, 1] },
        { start: '2026-12-07T00:00:00.000Z', size: 1, active: [1] },
      ],
    })
  })
  it('correlation: a-events followed by a b on the same stream within withinMs', () => {
    expect(run({ a: 'type = "cart"', b: 'type = "checkout"', withinMs: 3_600_000 }, 'correlation', log)).toEqual({ count: 1 })
    expect(run({ a: 'type = "cart"', b: 'type = "checkout"', withinMs: 86_400_000 }, 'correlation', log)).toEqual({ count: 2 })
  })
  it('anomalies: z-scores over the series, empty buckets as 0', () => {
    const r = run({ bucket: 'day', threshold: 2 }, 'anomalies', log) as { anomalies: { start: string; count: number; z: number }[] }
    expect(r.anomalies.map((a) => [a.start, a.count])).toEqual([['2026-12-01T00:00:00.000Z', 4]])
    expect(r.anomalies[0]?.z).toBeCloseTo((4 - 7 / 8) / Math.sqrt((4 - 7 / 8) ** 2 / 8 + (1 - 7 / 8) ** 2 / 8 + (2 - 7 / 8) ** 2 / 8 + (5 * (7 / 8) ** 2) / 8), 9)
  })
})

describe('analytics request validation: BAD_REQUEST with the path of the fault', () => {
  const fault = (kind: Parameters<typeof validateAnalyticsRequest>[0], body: unknown) => {
    const r = validateAnalyticsRequest(kind, body)
    if (E.isRight(r)) throw new Error('accepted')
    expect(r.left._tag).toBe('BadRequest')
    return r.left._tag === 'BadRequest' ? r.left.details : undefined
  }
  it.each([
    ['frequency', { bucket: 'week' }, { path: 'bucket' }],
    ['frequency', { buckets: 'day' }, { path: 'buckets' }],
    ['frequency', { since: 'yesterday' }, { path: 'since' }],
    ['frequency', { since: '2026-12-02', until: '2026-12-01' }, { path: 'since' }],
    ['frequency', { where: { or: [{ gt: ['x'] }] } }, { field: 'where', path: 'or[0].gt' }],
    ['summary', { top: 0 }, { path: 'top' }],
    ['funnel', { withinMs: 1 }, { path: 'steps' }],
    ['funnel', { steps: [], withinMs: 1 }, { path: 'steps' }],
    ['funnel', { steps: [{ eq: ['type', 'a'] }, { nope: 1 }], withinMs: 1 }, { field: 'steps[1]', path: 'nope' }],
    ['funnel', { steps: [{ eq: ['type', 'a'] }] }, { path: 'withinMs' }],
    ['funnel', { steps: ['type ='], withinMs: 1 }, { field: 'steps[0]' }],
    ['retention', { period: 'month' }, { path: 'period' }],
    ['correlation', { b: 'type = "x"', withinMs: 1 }, { path: 'a' }],
    ['correlation', { a: 'type = "x"', b: 'type = "y"', withinMs: -1 }, { path: 'withinMs' }],
    ['anomalies', { threshold: 0 }, { path: 'threshold' }],
    ['anomalies', { threshold: 'high' }, { path: 'threshold' }],
  ] as const)('%s %j', (kind, body, details) => {
    expect(fault(kind, body)).toMatchObject(details)
  })
  it('a body that is not an object', () => {
    expect(fault('summary', [1])).toMatchObject({ path: '' })
  })
  it('defaults: hour buckets, top 10, weekly cohorts, threshold 3', () => {
    expect(validateAnalyticsRequest('frequency', undefined)).toEqual(E.right({ kind: 'frequency', bucket: 'hour' }))
    expect(validateAnalyticsRequest('summary', {})).toEqual(E.right({ kind: 'summary', top: 10 }))
    expect(validateAnalyticsRequest('retention', {})).toEqual(E.right({ kind: 'retention', period: 'week' }))
    expect(validateAnalyticsRequest('anomalies', {})).toEqual(E.right({ kind: 'anomalies', bucket: 'hour', threshold: 3 }))
  })
  it('a series too long for anomalies is BAD_REQUEST, not a huge reply: before the scan when since..until says so, after it when the events do', () => {
    expect(fault('anomalies', { bucket: 'minute', since: '2026-01-01', until: '2026-12-01' })).toMatchObject({ path: 'bucket', max: 100_000 })
    const r = validateAnalyticsRequest('anomalies', { bucket: 'minute', since: '2026-01-01' })
    if (E.isLeft(r)) throw new Error('rejected')
    const fold = analyticsFold(r.right)
    fold.add(ev('x', 1, 'a', '2026-12-01T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z'))
    const out = fold.result()
    expect(E.isLeft(out) && out.left._tag === 'BadRequest' ? out.left.details : undefined).toMatchObject({ path: 'bucket', max: 100_000 })
  })
})
