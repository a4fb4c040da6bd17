import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../streams/errors.js'
import type { Filter } from '../reading/filter.js'
import { parseWhere } from '../reading/where.js'
import { type Bucket, buckets, indexOf, type Period, periods } from './buckets.js'

/** The analytics kinds, the last token of `allsource.analytics.<tenant>.<kind>`. */
export const analyticsKinds = ['frequency', 'summary', 'funnel', 'retention', 'correlation', 'anomalies'] as const
export type AnalyticsKind = (typeof analyticsKinds)[number]

export const isAnalyticsKind = (u: unknown): u is AnalyticsKind => typeof u === 'string' && (analyticsKinds as readonly string[]).includes(u)

/** Limits on what one request may ask for (docs/analytics.md). */
export const analyticsLimits = {
  /** Most steps of a funnel. */
  maxSteps: 10,
  /** Largest `withinMs` (ten years). */
  maxWithinMs: 3650 * 86_400_000,
  /** Default and largest `top` of `summary`. */
  defaultTop: 10,
  maxTop: 1000,
  /** Default `threshold` (|z|) of `anomalies`, and the largest. */
  defaultThreshold: 3,
  maxThreshold: 1000,
  /** Most buckets one `anomalies` series may span (empty ones included). */
  maxAnomalyBuckets: 100_000,
} as const

/** What every kind takes: inclusive time bounds on event timestamps and a filter (docs/querying.md). */
export interface AnalyticsScope {
  readonly since?: Date
  readonly until?: Date
  readonly where?: Filter
}

export type FrequencyRequest = AnalyticsScope & { readonly kind: 'frequency'; readonly bucket: Bucket }
export type SummaryRequest = AnalyticsScope & { readonly kind: 'summary'; readonly top: number }
export type FunnelRequest = AnalyticsScope & { readonly kind: 'funnel'; readonly steps: readonly Filter[]; readonly withinMs: number }
export type RetentionRequest = AnalyticsScope & { readonly kind: 'retention'; readonly period: Period }
export type CorrelationRequest = AnalyticsScope & { readonly kind: 'correlation'; readonly a: Filter; readonly b: Filter; readonly withinMs: number }
export type AnomaliesRequest = AnalyticsScope & { readonly kind: 'anomalies'; readonly bucket: Bucket; readonly threshold: number }

/** A validated analytics request, by kind. */
export type AnalyticsRequest = FrequencyRequest | SummaryRequest | FunnelRequest | RetentionRequest | CorrelationRequest | AnomaliesRequest

/** The fields each kind takes besides `since`, `until` and `where`. */
const fieldsOf: Readonly<Record<AnalyticsKind, readonly string[]>> = {
  frequency: ['bucket'],
  summary: ['top'],
  funnel: ['steps', 'withinMs'],
  retention: ['period'],
  correlation: ['a', 'b', 'withinMs'],
  anomalies: ['bucket', 'threshold'],
}

type V<A> = E.Either<DomainError, A>

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array) && !(u instanceof Date)

const fault = (path: string, message: string, more: Record<string, unknown> = {}): DomainError => badRequest(`${path}: ${message}`, { path, ...more })

const time = (u: unknown, path: string): V<Date | undefined> => {
  if (u === undefined || u === null) return E.right(undefined)
  const d = u instanceof Date ? u : typeof u === 'string' || typeof u === 'number' ? new Date(u) : undefined
  return d === undefined || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999
    ? E.left(fault(path, 'must be an ISO-8601 time (years 0000–9999), epoch milliseconds or a msgpack timestamp'))
    : E.right(d)
}

const oneOf = <A extends string>(u: unknown, path: string, values: readonly A[], fallback: A): V<A> =>
  u === undefined || u === null ? E.right(fallback) : (values as readonly unknown[]).includes(u) ? E.right(u as A) : E.left(fault(path, `must be one of ${values.join(', ')}`))

const integer = (u: unknown, path: string, min: number, max: number, fallback?: number): V<number> => {
  if ((u === undefined || u === null) && fallback !== undefined) return E.right(fallback)
  if (u === undefined || u === null) return E.left(fault(path, 'is required'))
  return typeof u === 'number' && Number.isSafeInteger(u) && u >= min && u <= max ? E.right(u) : E.left(fault(path, `must be an integer from ${min} to ${max}`))
}

const filterAt = (u: unknown, path: string): V<Filter> => (u === undefined || u === null ? E.left(fault(path, 'is required (a filter)')) : parseWhere(u, path))

/** A request's own fields, kind by kind (an `Omit` that keeps the union). */
type KindFields = AnalyticsRequest extends infer R ? (R extends AnalyticsRequest ? Omit<R, keyof AnalyticsScope> : never) : never

const kindFields = (kind: AnalyticsKind, b: Record<string, unknown>): V<KindFields> => {
  switch (kind) {
    case 'frequency':
      return E.map((bucket: Bucket) => ({ kind, bucket }))(oneOf(b.bucket, 'bucket', buckets, 'hour'))
    case 'summary':
      return E.map((top: number) => ({ kind, top }))(integer(b.top, 'top', 1, analyticsLimits.maxTop, analyticsLimits.defaultTop))
    case 'retention':
      return E.map((period: Period) => ({ kind, period }))(oneOf(b.period, 'period', periods, 'week'))
    case 'funnel': {
      if (!Array.isArray(b.steps) || b.steps.length < 1 || b.steps.length > analyticsLimits.maxSteps) {
        return E.left(fault('steps', `must be an array of 1 to ${analyticsLimits.maxSteps} filters`))
      }
      const steps: Filter[] = []
      for (const [i, s] of (b.steps as unknown[]).entries()) {
        const f = filterAt(s, `steps[${i}]`)
        if (E.isLeft(f)) return f
        steps.push(f.right)
      }
      const withinMs = integer(b.withinMs, 'withinMs', 0, analyticsLimits.maxWithinMs)
      return E.isLeft(withinMs) ? withinMs : E.right({ kind, steps, withinMs: withinMs.right })
    }
    case 'correlation': {
      const a = filterAt(b.a, 'a')
      if (E.isLeft(a)) return a
      const bf = filterAt(b.b, 'b')
      if (E.isLeft(bf)) return bf
      const withinMs = integer(b.withinMs, 'withinMs', 0, analyticsLimits.maxWithinMs)
      return E.isLeft(withinMs) ? withinMs : E.right({ kind, a: a.right, b: bf.right, withinMs: withinMs.right })
    }
    case 'anomalies': {
      const bucket = oneOf(b.bucket, 'bucket', buckets, 'hour')
      if (E.isLeft(bucket)) return bucket
      const t = b.threshold ?? analyticsLimits.defaultThreshold
      if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > analyticsLimits.maxThreshold) {
        return E.left(fault('threshold', `must be a number above 0 and at most ${analyticsLimits.maxThreshold}`))
      }
      return E.right({ kind, bucket: bucket.right, threshold: t })
    }
    default: {
      const never: never = kind
      return never
    }
  }
}

/**
 * Validates the body of an analytics request of `kind` (already known to be a kind). Returns the
 * first fault as `BadRequest` whose `details.path` names the field (`withinMs`, `steps[1]`) and,
 * inside a filter, `details.field` the field and `details.path` the place in the filter
 * (`or[0].gt`). An unknown field is a fault too (a misspelt `withinMs` must not fall back to a
 * default). Changes nothing; never throws.
 */
export const validateAnalyticsRequest = (kind: AnalyticsKind, body: unknown): V<AnalyticsRequest> => {
  if (body !== undefined && body !== null && !isRecord(body)) return E.left(badRequest('request body must be an object', { path: '' }))
  const b: Record<string, unknown> = isRecord(body) ? body : {}
  const allowed = new Set(['since', 'until', 'where', ...fieldsOf[kind]])
  const unknown = Object.keys(b).find((k) => !allowed.has(k))
  if (unknown !== undefined) return E.left(fault(unknown.slice(0, 64), `${kind} takes no such field (it takes since, until, where, ${fieldsOf[kind].join(', ')})`))
  const since = time(b.since, 'since')
  if (E.isLeft(since)) return since
  const until = time(b.until, 'until')
  if (E.isLeft(until)) return until
  if (since.right !== undefined && until.right !== undefined && since.right > until.right) return E.left(fault('since', 'is after until'))
  const where = b.where === undefined || b.where === null ? undefined : parseWhere(b.where)
  if (where !== undefined && E.isLeft(where)) return where
  const rest = kindFields(kind, b)
  if (E.isLeft(rest)) return rest
  // A series `since`..`until` too long for anomalies is refused before any scan (the fold checks ranges set by the events).
  if (rest.right.kind === 'anomalies' && since.right !== undefined && until.right !== undefined) {
    const n = indexOf(until.right.getTime(), rest.right.bucket) - indexOf(since.right.getTime(), rest.right.bucket) + 1
    if (n > analyticsLimits.maxAnomalyBuckets) {
      return E.left(fault('bucket', `since..until spans ${n} ${rest.right.bucket} buckets, more than ${analyticsLimits.maxAnomalyBuckets}; narrow since/until or use a longer bucket`, { buckets: n, max: analyticsLimits.maxAnomalyBuckets }))
    }
  }
  const scope: AnalyticsScope = {
    ...(since.right !== undefined ? { since: since.right } : {}),
    ...(until.right !== undefined ? { until: until.right } : {}),
    ...(where !== undefined ? { where: where.right } : {}),
  }
  return E.right({ ...scope, ...rest.right } as AnalyticsRequest)
}

/** The events a request looks at, as one filter (its `since`, `until` and `where`); undefined: every event. */
export const scopeFilter = (r: AnalyticsScope): Filter | undefined => {
  const all: Filter[] = [
    ...(r.since !== undefined ? [{ gte: ['timestamp', r.since.toISOString()] } as const] : []),
    ...(r.until !== undefined ? [{ lte: ['timestamp', r.until.toISOString()] } as const] : []),
    ...(r.where !== undefined ? [r.where] : []),
  ]
  return all.length === 0 ? undefined : all.length === 1 ? all[0] : { and: all }
}
