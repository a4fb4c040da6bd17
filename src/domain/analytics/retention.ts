import * as E from 'fp-ts/lib/Either.js'
import { badRequest } from '../streams/errors.js'
import { indexOf, isoStartOf } from './buckets.js'
import type { RetentionRequest } from './analyticsRequest.js'
import type { AnalyticsFold, RetentionReply } from './fold.js'

/** Most periods from the oldest cohort to the newest active period (so a reply stays bounded). */
export const maxRetentionPeriods = 1000

/**
 * `retention`: streams grouped into cohorts by the period of their earliest matching event (by
 * timestamp: in version order when timestamps are, as the stream actor stamps them). Each cohort
 * has its `size` and `active[i]`: how many of its streams have a matching event in the i-th period
 * from the cohort's own (`active[0]` = `size`), up to the period of the newest matching event of
 * the whole scope, so every cohort's row ends at the same period. Ascending by start.
 */
export const retentionFold = (r: Pick<RetentionRequest, 'period'>): AnalyticsFold<RetentionReply> => {
  // A stream's periods: one number while it has been active in one period only (the common case for many small streams).
  const streams = new Map<string, number | Set<number>>()
  let newest = Number.NEGATIVE_INFINITY
  return {
    add: (e, ms) => {
      const p = indexOf(ms, r.period)
      if (p > newest) newest = p
      const s = streams.get(e.stream)
      if (s === undefined) streams.set(e.stream, p)
      else if (typeof s === 'number') {
        if (s !== p) streams.set(e.stream, new Set([s, p]))
      } else s.add(p)
    },
    result: () => {
      const cohorts = new Map<number, { size: number; active: number[] }>()
      let oldest = Number.POSITIVE_INFINITY
      for (const s of streams.values()) oldest = Math.min(oldest, typeof s === 'number' ? s : Math.min(...s))
      if (streams.size > 0 && newest - oldest + 1 > maxRetentionPeriods) {
        return E.left(
          badRequest(`retention: the events span ${newest - oldest + 1} ${r.period}s, more than ${maxRetentionPeriods}; narrow since/until or use a longer period`, {
            path: 'period',
            periods: newest - oldest + 1,
            max: maxRetentionPeriods,
          }),
        )
      }
      for (const s of streams.values()) {
        const ps = typeof s === 'number' ? [s] : [...s]
        const c = Math.min(...ps)
        let cohort = cohorts.get(c)
        if (cohort === undefined) {
          cohort = { size: 0, active: new Array<number>(newest - c + 1).fill(0) }
          cohorts.set(c, cohort)
        }
        cohort.size++
        for (const p of ps) cohort.active[p - c] = (cohort.active[p - c] as number) + 1
      }
      return E.right({
        cohorts: [...cohorts.entries()].sort((x, y) => x[0] - y[0]).map(([c, { size, active }]) => ({ start: isoStartOf(c, r.period), size, active })),
      })
    },
  }
}
