import type * as E from 'fp-ts/lib/Either.js'
import type { FilterableEvent } from '../reading/filterEval.js'
import type { DomainError } from '../streams/errors.js'

/**
 * One analytics computation as a fold over the events of its scope. `add` takes each event the
 * request's `since`/`until`/`where` admit, in log order (offset, then version within a commit, so
 * each stream's events come in version order), with its timestamp in epoch ms; `result` answers.
 *
 * The accumulator is mutable on purpose: a fold runs over up to a million events per request, and
 * copying a map per event would cost more than the scan. It is still pure in the sense that
 * matters: no I/O, no clock, no randomness; the result depends only on the events added, and
 * every kind is checked against a brute-force computation over the same events.
 */
export interface AnalyticsFold<R> {
  add(e: FilterableEvent, ms: number): void
  result(): E.Either<DomainError, R>
}

/** `frequency`: events per bucket, ascending by `start` (ISO UTC bucket start), empty buckets omitted. */
export interface FrequencyReply {
  readonly buckets: readonly { readonly start: string; readonly count: number }[]
}

/** `summary`: the top types and streams, and events per UTC day, each by count descending (ties by name / day ascending). */
export interface SummaryReply {
  readonly types: readonly { readonly type: string; readonly count: number }[]
  readonly streams: readonly { readonly stream: string; readonly count: number }[]
  readonly days: readonly { readonly day: string; readonly count: number }[]
}

/** `funnel`: per step, the streams that reached it. */
export interface FunnelReply {
  readonly steps: readonly { readonly count: number }[]
}

/** `retention`: per cohort (ascending by start), its size and the streams active in each period from its own on. */
export interface RetentionReply {
  readonly cohorts: readonly { readonly start: string; readonly size: number; readonly active: readonly number[] }[]
}

/** `correlation`: a-events followed by a later b on the same stream within `withinMs`. */
export interface CorrelationReply {
  readonly count: number
}

/** `anomalies`: buckets whose |z| reaches the threshold, ascending by start. */
export interface AnomaliesReply {
  readonly anomalies: readonly { readonly start: string; readonly count: number; readonly z: number }[]
}

export type AnalyticsReply = FrequencyReply | SummaryReply | FunnelReply | RetentionReply | CorrelationReply | AnomaliesReply

/** Counts one more under `key`. */
export const bump = <K>(m: Map<K, number>, key: K): void => {
  m.set(key, (m.get(key) ?? 0) + 1)
}
