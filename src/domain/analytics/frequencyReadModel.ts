import type { EventFrequencyState, FrequencyChunks } from '../projections/builtins.js'
import type { Filter } from '../reading/filter.js'
import { type Bucket, indexOf, isoStartOf, startOfIndex } from './buckets.js'
import type { FrequencyRequest } from './analyticsRequest.js'
import type { FrequencyReply } from './fold.js'

/**
 * Which event types a read-model answer needs: every type the tenant has (`all`, no `where`), or
 * the listed ones (a `where` that only names types). The `event-frequency` read model keeps one
 * key per type, so these are its keys to read.
 */
export type ReadModelTypes = { readonly _tag: 'All' } | { readonly _tag: 'Only'; readonly types: readonly string[] }

/**
 * The types a filter accepts when it says nothing but the event type: `type = "x"`, `type in (…)`,
 * and `and` / `or` of such filters (intersection, union). A filter that says anything else (another
 * field, `not`, `ne`, a prefix) is undefined: only the scan answers it. An operand that is not a
 * string matches no type (a type is a string, and unlike kinds compare false), so `type = 5`
 * accepts nothing. Exact: an event passes the filter if and only if its type is in the set.
 */
export const typesOnly = (f: Filter): ReadonlySet<string> | undefined => {
  if ('eq' in f) return f.eq[0] === 'type' ? new Set(typeof f.eq[1] === 'string' ? [f.eq[1]] : []) : undefined
  if ('in' in f) return f.in[0] === 'type' ? new Set(f.in[1].filter((v): v is string => typeof v === 'string')) : undefined
  if ('or' in f || 'and' in f) {
    const parts = 'or' in f ? f.or : f.and
    let out: Set<string> | undefined
    for (const g of parts) {
      const s = typesOnly(g)
      if (s === undefined) return undefined
      out = out === undefined ? new Set(s) : 'or' in f ? new Set([...out, ...s]) : new Set([...out].filter((x) => s.has(x)))
    }
    // An empty `and` accepts everything, an empty `or` nothing: neither is a set of types here.
    return out
  }
  return undefined
}

/** Whether `ms` is the first millisecond of a `bucket`. */
const onBoundary = (ms: number, bucket: Bucket): boolean => startOfIndex(indexOf(ms, bucket), bucket) === ms

/**
 * Whether the `event-frequency` read model can answer a `frequency` request exactly, and for which
 * types: its `where` is absent or names only types ({@link typesOnly}); `since` is absent or the
 * start of a `bucket`; `until` (inclusive) is absent or the last millisecond of one. Every bucket
 * of the reply is then a whole bucket, so counts per bucket per type add up to the answer. Whether
 * the read model still keeps the counts it needs is decided by {@link frequencyFromReadModel}.
 * Pure; undefined when only the scan can answer.
 */
export const frequencyReadModelShape = (r: Pick<FrequencyRequest, 'bucket' | 'since' | 'until' | 'where'>): ReadModelTypes | undefined => {
  if (r.since !== undefined && !onBoundary(r.since.getTime(), r.bucket)) return undefined
  if (r.until !== undefined && !onBoundary(r.until.getTime() + 1, r.bucket)) return undefined
  if (r.where === undefined) return { _tag: 'All' }
  const types = typesOnly(r.where)
  return types === undefined ? undefined : { _tag: 'Only', types: [...types].sort() }
}

/** The epoch ms of a UTC date and time given by its fields (any year from 0 to 9999), NaN if a field is not a number. */
const utcMs = (y: number, month: number, day: number, hour = 0, minute = 0): number => {
  const d = new Date(Date.UTC(2000, 0, 1, hour, minute))
  d.setUTCFullYear(y, month - 1, day)
  return d.getTime()
}

/** A chunk key's parts: `YYYY-MM`, `YYYY-MM-DD` or `YYYY-MM-DDTHH` (as `event-frequency` writes them). */
const keyParts = (key: string): number[] | undefined => {
  const m = /^(\d{1,4})-(\d{2})(?:-(\d{2})(?:T(\d{2}))?)?$/.exec(key)
  return m === null ? undefined : m.slice(1).filter((x) => x !== undefined).map(Number)
}

const sum = (xs: readonly number[]): number => {
  let n = 0
  for (const x of xs) n += x
  return n
}

/** Chunks by the start (epoch ms) of their day (`YYYY-MM-DD`, 3 parts) or hour (`YYYY-MM-DDTHH`, 4 parts); a key of another form is left out. */
const byStart = (chunks: FrequencyChunks, parts: 3 | 4): Map<number, readonly number[]> => {
  const out = new Map<number, readonly number[]>()
  for (const [key, chunk] of Object.entries(chunks)) {
    const p = keyParts(key)
    if (p !== undefined && p.length === parts) out.set(utcMs(p[0] as number, p[1] as number, p[2] as number, p[3] ?? 0), chunk)
  }
  return out
}

/** Count `n` into bucket `i` when it is in `[lo, hi]`. */
const add = (counts: Map<number, number>, i: number, n: number, lo: number, hi: number): void => {
  if (n > 0 && i >= lo && i <= hi) counts.set(i, (counts.get(i) ?? 0) + n)
}

/**
 * One type's counts per `bucket` in `[lo, hi]` (bucket indices) into `counts`; false when the read
 * model no longer keeps them. Day counts are kept for ever. An hour's counts are used only where the
 * day's 24 hours add up to the day's count, and a minute's only where the hour's 60 minutes add up
 * to the hour's: every event is counted in its day, and in its hour and minute only while those are
 * kept, so a sum that falls short means some of that day's (hour's) events were never counted
 * finer, and the answer is not exact. A day with no events needs no finer counts.
 */
const addType = (s: EventFrequencyState, bucket: Bucket, lo: number, hi: number, counts: Map<number, number>): boolean => {
  const hourChunks = bucket === 'day' ? new Map<number, readonly number[]>() : byStart(s.hours, 3)
  const minuteChunks = bucket === 'minute' ? byStart(s.minutes, 4) : new Map<number, readonly number[]>()
  const overlaps = (startMs: number, endMs: number) => indexOf(endMs - 1, bucket) >= lo && indexOf(startMs, bucket) <= hi
  for (const [month, days] of Object.entries(s.days)) {
    const ym = keyParts(month)
    if (ym === undefined || ym.length !== 2) return false
    for (let d = 0; d < days.length; d++) {
      const dayCount = days[d] as number
      if (dayCount <= 0) continue
      const dayMs = utcMs(ym[0] as number, ym[1] as number, d + 1)
      if (Number.isNaN(dayMs)) return false
      if (bucket === 'day') {
        add(counts, indexOf(dayMs, 'day'), dayCount, lo, hi)
        continue
      }
      if (!overlaps(dayMs, dayMs + 86_400_000)) continue
      const hours = hourChunks.get(dayMs)
      if (hours === undefined || sum(hours) !== dayCount) return false
      for (let h = 0; h < hours.length; h++) {
        const hourCount = hours[h] as number
        if (hourCount <= 0) continue
        const hourMs = dayMs + h * 3_600_000
        if (bucket === 'hour') {
          add(counts, indexOf(hourMs, 'hour'), hourCount, lo, hi)
          continue
        }
        if (!overlaps(hourMs, hourMs + 3_600_000)) continue
        const minutes = minuteChunks.get(hourMs)
        if (minutes === undefined || sum(minutes) !== hourCount) return false
        for (let m = 0; m < minutes.length; m++) add(counts, indexOf(hourMs + m * 60_000, 'minute'), minutes[m] as number, lo, hi)
      }
    }
  }
  return true
}

/**
 * Event counts per `bucket` index (bucket `i` starts at `startOfIndex(i, bucket)`) of `[since,
 * until]`, from `event-frequency` states: one per type of the request's {@link ReadModelTypes} (a
 * type with no state has no events), for a request whose shape {@link frequencyReadModelShape}
 * admits. Empty buckets are absent. Undefined when some count it needs is no longer kept (minutes
 * older than about 25 hours, hours older than about 31 days, before each type's newest event):
 * then only the scan answers. Otherwise the counts are those of the scan over the same events.
 * Pure.
 */
export const readModelCounts = (r: Pick<FrequencyRequest, 'bucket' | 'since' | 'until'>, states: readonly EventFrequencyState[]): Map<number, number> | undefined => {
  const lo = r.since === undefined ? Number.NEGATIVE_INFINITY : indexOf(r.since.getTime(), r.bucket)
  const hi = r.until === undefined ? Number.POSITIVE_INFINITY : indexOf(r.until.getTime(), r.bucket)
  const counts = new Map<number, number>()
  for (const s of states) if (!addType(s, r.bucket, lo, hi, counts)) return undefined
  return counts
}

/** A `frequency` reply from {@link readModelCounts}: the same as the fold's over the same events. */
export const frequencyOfCounts = (bucket: Bucket, counts: ReadonlyMap<number, number>): FrequencyReply => ({
  buckets: [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([i, count]) => ({ start: isoStartOf(i, bucket), count })),
})
