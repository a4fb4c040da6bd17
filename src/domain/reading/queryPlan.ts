import { StreamId } from '../streams/ids.js'
import { isoTimeMs, type Filter, type Scalar } from './filter.js'
import { compileFilter, type Predicate } from './filterEval.js'

/**
 * How to scan the log for a filter: what can be decided before decoding a commit, and the
 * predicate for what cannot. Sound by construction (checked by a property test): an event the
 * predicate accepts is never excluded by the stream, the bounds or the types.
 */
export interface ScanPlan {
  /**
   * Only these streams' subjects (at most `maxPlannedStreams`; none: nothing can match): the filter
   * implies them by `stream` `eq`/`in`, in an `and` or in every branch of an `or`.
   */
  readonly streams?: readonly string[]
  /** No matching event has a lower offset (from `fromOffset`, or an `offset` lower bound). */
  readonly fromOffset?: number
  /** No matching event has a higher offset (an `offset` upper bound). */
  readonly toOffset?: number
  /** No matching event is older (epoch ms; from `timestamp` lower bounds, `since` included). */
  readonly sinceMs?: number
  /** No matching event is newer (epoch ms; `timestamp` upper bounds, `until` included). */
  readonly untilMs?: number
  /**
   * A commit can match only if it holds one of these event types: checkable on the commit's
   * `AllSource-Types` header without decoding it. Absent when the filter does not imply it.
   */
  readonly types?: ReadonlySet<string>
  /** The whole filter on one decoded event (the plan's pre-filters included). */
  readonly matches: Predicate
}

const conjuncts = (f: Filter): readonly Filter[] => ('and' in f ? f.and.flatMap(conjuncts) : [f])

/**
 * The values of `path` (`type` or `stream`) a filter implies: every event it accepts has one of
 * them, or undefined when the filter does not say. From `eq`/`in` on the path; an `and` intersects
 * what its filters imply, an `or` unites them when every branch implies some.
 */
const impliedValues = (f: Filter, path: 'type' | 'stream'): ReadonlySet<string> | undefined => {
  if ('eq' in f && f.eq[0] === path) return new Set(typeof f.eq[1] === 'string' ? [f.eq[1]] : [])
  if ('in' in f && f.in[0] === path) return new Set(f.in[1].filter((v): v is string => typeof v === 'string'))
  if ('and' in f) {
    let out: Set<string> | undefined
    for (const g of f.and) {
      const s = impliedValues(g, path)
      if (s !== undefined) out = out === undefined ? new Set(s) : new Set([...out].filter((x) => s.has(x)))
    }
    return out
  }
  if ('or' in f) {
    const out = new Set<string>()
    for (const g of f.or) {
      const s = impliedValues(g, path)
      if (s === undefined) return undefined
      for (const x of s) out.add(x)
    }
    return out
  }
  return undefined
}

/** The event types a filter implies (every accepted event has one of them), or undefined. */
export const impliedTypes = (f: Filter): ReadonlySet<string> | undefined => impliedValues(f, 'type')

/** Most streams a scan names one by one; more, and it takes the tenant's whole subject. */
export const maxPlannedStreams = 16

type Bound = { readonly lo?: number; readonly hi?: number }

/** Bounds a top-level conjunct puts on a numeric field (`offset`) or on `timestamp` (as ms). */
const boundOf = (f: Filter, path: 'offset' | 'timestamp'): Bound => {
  const num = (v: Scalar): number | undefined =>
    path === 'timestamp' ? (typeof v === 'string' ? isoTimeMs(v) : undefined) : typeof v === 'number' ? v : undefined
  const pick = (p: string, v: Scalar, side: 'lo' | 'hi' | 'both'): Bound => {
    const n = p === path ? num(v) : undefined
    if (n === undefined) return {}
    return side === 'lo' ? { lo: n } : side === 'hi' ? { hi: n } : { lo: n, hi: n }
  }
  if ('eq' in f) return pick(f.eq[0], f.eq[1], 'both')
  if ('gt' in f) return pick(f.gt[0], f.gt[1], 'lo')
  if ('gte' in f) return pick(f.gte[0], f.gte[1], 'lo')
  if ('lt' in f) return pick(f.lt[0], f.lt[1], 'hi')
  if ('lte' in f) return pick(f.lte[0], f.lte[1], 'hi')
  if ('between' in f) return { ...pick(f.between[0], f.between[1], 'lo'), ...pick(f.between[0], f.between[2], 'hi') }
  return {}
}

const tighten = (fs: readonly Filter[], path: 'offset' | 'timestamp'): Bound => {
  let lo: number | undefined
  let hi: number | undefined
  for (const f of fs) {
    const b = boundOf(f, path)
    if (b.lo !== undefined) lo = lo === undefined ? b.lo : Math.max(lo, b.lo)
    if (b.hi !== undefined) hi = hi === undefined ? b.hi : Math.min(hi, b.hi)
  }
  return { ...(lo !== undefined ? { lo } : {}), ...(hi !== undefined ? { hi } : {}) }
}

/** The streams a filter implies, as subject-safe ids (a value outside the stream alphabet matches nothing). */
const impliedStreams = (f: Filter): readonly string[] | undefined => {
  const s = impliedValues(f, 'stream')
  if (s === undefined) return undefined
  const ids = [...s].filter((x) => StreamId.is(x)).sort()
  return ids.length > maxPlannedStreams ? undefined : ids
}

/**
 * Plans a scan for `filter` (undefined: every event) starting at `fromOffset`. Offsets become
 * integers (`offset > 2.5` starts at 3); bounds from several conjuncts are intersected.
 */
export const planScan = (filter: Filter | undefined, fromOffset?: number): ScanPlan => {
  const fs = filter === undefined ? [] : conjuncts(filter)
  const off = tighten(fs, 'offset')
  const time = tighten(fs, 'timestamp')
  const lo = Math.max(fromOffset ?? 1, off.lo === undefined ? 1 : Math.ceil(off.lo))
  const streams = filter === undefined ? undefined : impliedStreams(filter)
  const types = filter === undefined ? undefined : impliedTypes(filter)
  return {
    ...(streams !== undefined ? { streams } : {}),
    ...(lo > 1 ? { fromOffset: lo } : {}),
    ...(off.hi !== undefined ? { toOffset: Math.floor(off.hi) } : {}),
    ...(time.lo !== undefined ? { sinceMs: time.lo } : {}),
    ...(time.hi !== undefined ? { untilMs: time.hi } : {}),
    ...(types !== undefined ? { types } : {}),
    matches: filter === undefined ? () => true : compileFilter(filter),
  }
}

/** Whether the plan's subjects cover a stream. */
export const admitsStream = (plan: ScanPlan, stream: string): boolean => plan.streams === undefined || plan.streams.includes(stream)

/**
 * Whether a commit whose `AllSource-Types` header lists `types` can hold a match. A commit
 * without the header (`undefined` or empty) must be decoded to know.
 */
export const admitsTypes = (plan: ScanPlan, types: readonly string[] | undefined): boolean =>
  plan.types === undefined || types === undefined || types.length === 0 || types.some((t) => plan.types?.has(t) === true)

/** Whether the plan's bounds can hold an event at this offset (sound, before decoding). */
export const admitsOffset = (plan: ScanPlan, offset: number): boolean =>
  (plan.fromOffset === undefined || offset >= plan.fromOffset) && (plan.toOffset === undefined || offset <= plan.toOffset)
