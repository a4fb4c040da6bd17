import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../streams/errors.js'
import { indexOf, isoStartOf } from './buckets.js'
import { analyticsLimits, type AnomaliesRequest } from './analyticsRequest.js'
import { type AnalyticsFold, type AnomaliesReply, bump } from './fold.js'

/**
 * `anomalies`: the series of event counts per `bucket`, empty buckets counted as 0, from the bucket
 * of `since` (else of the oldest event) to the bucket of `until` (else of the newest event); with
 * its mean m and population standard deviation s, each bucket's z = (count − m) / s. The buckets
 * with |z| ≥ `threshold` are anomalies (a drop to 0 as well as a burst), ascending by start. A flat
 * series (s = 0) has none. A series of more than `analyticsLimits.maxAnomalyBuckets` buckets is
 * `BadRequest` (narrow the range or coarsen the bucket).
 */
export const anomaliesFold = (r: Pick<AnomaliesRequest, 'bucket' | 'threshold' | 'since' | 'until'>): AnalyticsFold<AnomaliesReply> => {
  const counts = new Map<number, number>()
  return {
    add: (_e, ms) => bump(counts, indexOf(ms, r.bucket)),
    result: () => anomaliesOfCounts(r, counts),
  }
}

/**
 * The `anomalies` answer from the event counts per bucket index of the scope (empty buckets absent),
 * as {@link anomaliesFold} gives it over the same events (it folds into such counts).
 */
export const anomaliesOfCounts = (
  r: Pick<AnomaliesRequest, 'bucket' | 'threshold' | 'since' | 'until'>,
  counts: ReadonlyMap<number, number>,
): E.Either<DomainError, AnomaliesReply> => {
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const i of counts.keys()) {
    if (i < lo) lo = i
    if (i > hi) hi = i
  }
  const first = r.since !== undefined ? indexOf(r.since.getTime(), r.bucket) : lo
  const last = r.until !== undefined ? indexOf(r.until.getTime(), r.bucket) : hi
  if (!(first <= last)) return E.right({ anomalies: [] })
  const n = last - first + 1
  if (n > analyticsLimits.maxAnomalyBuckets) {
    return E.left(
      badRequest(`anomalies: the series spans ${n} ${r.bucket} buckets, more than ${analyticsLimits.maxAnomalyBuckets}; narrow since/until or use a longer bucket`, {
        path: 'bucket',
        buckets: n,
        max: analyticsLimits.maxAnomalyBuckets,
      }),
    )
  }
  // In bucket order, so the same counts give the same z to the last bit however they were gathered
  // (the scan's fold or a read model).
  const ordered = [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([, c]) => c)
  let sum = 0
  for (const c of ordered) sum += c
  const mean = sum / n
  // Two passes (mean, then squared deviations): the textbook formula, stable for large counts.
  let squares = (n - counts.size) * mean * mean
  for (const c of ordered) squares += (c - mean) * (c - mean)
  const sd = Math.sqrt(squares / n)
  if (!(sd > 0)) return E.right({ anomalies: [] })
  const anomalies: { start: string; count: number; z: number }[] = []
  for (let i = first; i <= last; i++) {
    const count = counts.get(i) ?? 0
    const z = (count - mean) / sd
    if (Math.abs(z) >= r.threshold) anomalies.push({ start: isoStartOf(i, r.bucket), count, z })
  }
  return E.right({ anomalies })
}
