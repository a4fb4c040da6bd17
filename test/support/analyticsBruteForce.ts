import type { AnalyticsRequest } from '../../src/domain/analytics/analyticsRequest.js'
import { scopeFilter } from '../../src/domain/analytics/analyticsRequest.js'
import type { AnalyticsReply } from '../../src/domain/analytics/fold.js'
import { compileFilter, type FilterableEvent } from '../../src/domain/reading/filterEval.js'

/**
 * Every analytics kind computed the slow, obvious way over a whole log (a list of events in log
 * order): nothing shared with the folds but the filter evaluator, so a property test comparing the
 * two catches a fold that cuts a corner. Exponential for funnels: keep logs small.
 */

const ms = (e: FilterableEvent): number => new Date(e.timestamp as Date | string | number).getTime()

/** The UTC start of a minute, hour, day or ISO week (Monday), by calendar arithmetic. */
export const calendarStart = (t: number, unit: 'minute' | 'hour' | 'day' | 'week'): number => {
  const d = new Date(t)
  if (unit === 'minute') d.setUTCSeconds(0, 0)
  else if (unit === 'hour') d.setUTCMinutes(0, 0, 0)
  else {
    d.setUTCHours(0, 0, 0, 0)
    if (unit === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7))
  }
  return d.getTime()
}

/** The next calendar unit's start after `start`. */
const nextStart = (start: number, unit: 'minute' | 'hour' | 'day' | 'week'): number => {
  const d = new Date(start)
  if (unit === 'minute') d.setUTCMinutes(d.getUTCMinutes() + 1)
  else if (unit === 'hour') d.setUTCHours(d.getUTCHours() + 1)
  else d.setUTCDate(d.getUTCDate() + (unit === 'day' ? 1 : 7))
  return d.getTime()
}

const countBy = <K>(xs: readonly K[]): Map<K, number> => {
  const m = new Map<K, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1)
  return m
}

const byCountThenKey = <K extends string>(m: Map<K, number>): [K, number][] => [...m.entries()].sort((x, y) => (x[1] !== y[1] ? y[1] - x[1] : x[0] < y[0] ? -1 : 1))

export const bruteForce = (r: AnalyticsRequest, log: readonly FilterableEvent[]): AnalyticsReply | { readonly error: string } => {
  const scope = scopeFilter(r)
  const inScope = scope === undefined ? () => true : compileFilter(scope)
  const events = log.filter(inScope)
  switch (r.kind) {
    case 'frequency': {
      const m = countBy(events.map((e) => new Date(calendarStart(ms(e), r.bucket)).toISOString()))
      return { buckets: [...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([start, count]) => ({ start, count })) }
    }
    case 'summary': {
      const days = countBy(events.map((e) => new Date(ms(e)).toISOString().slice(0, 10)))
      return {
        types: byCountThenKey(countBy(events.map((e) => e.type))).slice(0, r.top).map(([type, count]) => ({ type, count })),
        streams: byCountThenKey(countBy(events.map((e) => e.stream))).slice(0, r.top).map(([stream, count]) => ({ stream, count })),
        days: byCountThenKey(days).map(([day, count]) => ({ day, count })),
      }
    }
    case 'funnel': {
      const steps = r.steps.map(compileFilter)
      const streams = [...new Set(events.map((e) => e.stream))]
      const reached = streams.map((s) => {
        const evs = events.filter((e) => e.stream === s)
        const deepest = (k: number, after: FilterableEvent, deadline: number): number => {
          if (k === steps.length) return k
          let best = k
          for (const e of evs) {
            if (e.version > after.version && ms(e) <= deadline && (steps[k] as (e: FilterableEvent) => boolean)(e)) best = Math.max(best, deepest(k + 1, e, deadline))
          }
          return best
        }
        return Math.max(0, ...evs.filter((e) => (steps[0] as (e: FilterableEvent) => boolean)(e)).map((e) => deepest(1, e, ms(e) + r.withinMs)))
      })
      return { steps: steps.map((_, k) => ({ count: reached.filter((d) => d > k).length })) }
    }
    case 'retention': {
      if (events.length === 0) return { cohorts: [] }
      const periodOf = (e: FilterableEvent) => calendarStart(ms(e), r.period)
      const newest = Math.max(...events.map(periodOf))
      const streams = [...new Set(events.map((e) => e.stream))]
      const cohorts = new Map<number, string[]>()
      for (const s of streams) {
        const first = Math.min(...events.filter((e) => e.stream === s).map(periodOf))
        cohorts.set(first, [...(cohorts.get(first) ?? []), s])
      }
      return {
        cohorts: [...cohorts.entries()]
          .sort((x, y) => x[0] - y[0])
          .map(([start, members]) => {
            const active: number[] = []
            for (let p = start; p <= newest; p = nextStart(p, r.period)) {
              active.push(members.filter((s) => events.some((e) => e.stream === s && periodOf(e) === p)).length)
            }
            return { start: new Date(start).toISOString(), size: members.length, active }
          }),
      }
    }
    case 'correlation': {
      const isA = compileFilter(r.a)
      const isB = compileFilter(r.b)
      return {
        count: events.filter((a) => isA(a) && events.some((b) => b.stream === a.stream && b.version > a.version && isB(b) && ms(b) <= ms(a) + r.withinMs)).length,
      }
    }
    case 'anomalies': {
      const starts = events.map((e) => calendarStart(ms(e), r.bucket))
      const first = r.since !== undefined ? calendarStart(r.since.getTime(), r.bucket) : Math.min(...starts)
      const last = r.until !== undefined ? calendarStart(r.until.getTime(), r.bucket) : Math.max(...starts)
      if (!(first <= last)) return { anomalies: [] }
      const series: { start: number; count: number }[] = []
      for (let b = first; b <= last; b = nextStart(b, r.bucket)) series.push({ start: b, count: starts.filter((s) => s === b).length })
      if (series.length > 100_000) return { error: 'BAD_REQUEST' }
      const mean = series.reduce((a, b) => a + b.count, 0) / series.length
      const sd = Math.sqrt(series.reduce((a, b) => a + (b.count - mean) ** 2, 0) / series.length)
      if (!(sd > 0)) return { anomalies: [] }
      return {
        anomalies: series
          .map(({ start, count }) => ({ start: new Date(start).toISOString(), count, z: (count - mean) / sd }))
          .filter((a) => Math.abs(a.z) >= r.threshold),
      }
    }
  }
}
