import * as E from 'fp-ts/lib/Either.js'
import { analyticsFold } from '../../domain/analytics/analytics.js'
import { type AnalyticsRequest, analyticsKinds, isAnalyticsKind, scopeFilter, validateAnalyticsRequest } from '../../domain/analytics/analyticsRequest.js'
import { anomaliesOfCounts } from '../../domain/analytics/anomalies.js'
import type { AnalyticsReply } from '../../domain/analytics/fold.js'
import { frequencyOfCounts, frequencyReadModelShape, readModelCounts, type ReadModelTypes } from '../../domain/analytics/frequencyReadModel.js'
import type { EventFrequencyState } from '../../domain/projections/builtins.js'
import type { Filter } from '../../domain/reading/filter.js'
import type { FilterableEvent } from '../../domain/reading/filterEval.js'
import { validateTenant } from '../../domain/streams/appendRequest.js'
import { type AppendError, notFound } from '../streams/errors.js'

/**
 * Feeds `visit` every event of `tenant`'s log that `filter` admits (undefined: every event), in log
 * order (offset, then version within a commit), with its timestamp in epoch ms, as the log was when
 * the scan started. A scan bounded by a cost limit answers `TooLarge` (unit `events`, `max` the
 * limit) when the events it would have to read exceed it, and feeds nothing more; infrastructure
 * failures are thrown.
 */
export type ScopedEventScan = (tenant: string, filter: Filter | undefined, visit: (e: FilterableEvent, ms: number) => void) => Promise<E.Either<AppendError, void>>

/**
 * The built-in `event-frequency` read model, read so that it agrees with the log: `states` answers
 * the states of `tenant`'s `types` (every type it has, for `All`; a type without events has no
 * state) that together hold exactly the events of one prefix of the log, a prefix that reaches at
 * least the log's last offset when the call began (it may first wait, bounded, for the projection
 * to get there). Left, with the reason, when it cannot (the projection does not run here, lags,
 * moved on while being read, a read failed): then the caller scans. Never throws.
 */
export interface FrequencyReadModel {
  states(tenant: string, types: ReadModelTypes): Promise<E.Either<string, readonly EventFrequencyState[]>>
}

/** Which path answered a request: the built-in read model, or the bounded scan of the log. */
export type AnalyticsSource = 'read-model' | 'scan'

/** Reply header (NATS and HTTP): which path answered, `read-model` or `scan` (docs/analytics.md). */
export const ANALYTICS_SOURCE_HEADER = 'AllSource-Analytics-Source'
/** Reply header (NATS and HTTP) on a scan that the read model could not spare: why (docs/analytics.md). */
export const ANALYTICS_FALLBACK_HEADER = 'AllSource-Analytics-Fallback'

/** A reply and how it was computed (for the reply header `AllSource-Analytics-Source`, logs and tests). */
export interface AnalyticsAnswer {
  readonly reply: AnalyticsReply
  readonly source: AnalyticsSource
  /** Why the read model did not answer a request of a shape it could have (`source` is then `scan`). */
  readonly fallback?: string
}

/** What the read model made of a request: not a shape it answers, could not answer it (why), or answered. */
type ReadModelOutcome =
  | { readonly _tag: 'NotItsShape' }
  | { readonly _tag: 'Fallback'; readonly why: string }
  | { readonly _tag: 'Answered'; readonly answer: E.Either<AppendError, AnalyticsAnswer> }

const fromReadModel = async (rm: FrequencyReadModel | undefined, tenant: string, r: AnalyticsRequest): Promise<ReadModelOutcome> => {
  if (rm === undefined || (r.kind !== 'frequency' && r.kind !== 'anomalies')) return { _tag: 'NotItsShape' }
  const types = frequencyReadModelShape(r)
  if (types === undefined) return { _tag: 'NotItsShape' }
  const states = await rm.states(tenant, types)
  if (E.isLeft(states)) return { _tag: 'Fallback', why: states.left }
  const counts = readModelCounts(r, states.right)
  if (counts === undefined) return { _tag: 'Fallback', why: 'the read model no longer keeps counts this fine for this range' }
  if (r.kind === 'frequency') return { _tag: 'Answered', answer: E.right({ reply: frequencyOfCounts(r.bucket, counts), source: 'read-model' }) }
  // anomalies: the same counts, and the same series, as its fold would have.
  return { _tag: 'Answered', answer: E.map((reply: AnalyticsReply): AnalyticsAnswer => ({ reply, source: 'read-model' }))(anomaliesOfCounts(r, counts)) }
}

/**
 * `allsource.analytics.<tenant>.<kind>`, one use case for every door (NATS, HTTP, library, CLI):
 * checks the tenant and the kind (an unknown kind is `NotFound`: the kind is part of the address,
 * as an unknown projection is) and validates the body. A `frequency` or `anomalies` request of a
 * shape the `event-frequency` read model answers exactly (`frequencyReadModelShape`) is answered
 * from it when `readModel` is given and can; every other request, and those it cannot, scan the
 * request's scope once through `scan` and answer the kind's fold. Both paths give the same reply
 * for the same log.
 */
export const answerAnalytics =
  (scan: ScopedEventScan, readModel?: FrequencyReadModel) =>
  async (tenant: string, kind: string, body: unknown): Promise<E.Either<AppendError, AnalyticsAnswer>> => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return t
    if (!isAnalyticsKind(kind)) return E.left(notFound(`no analytics kind "${kind.slice(0, 64)}"; the kinds are ${analyticsKinds.join(', ')}`))
    const r = validateAnalyticsRequest(kind, body)
    if (E.isLeft(r)) return r
    const read = await fromReadModel(readModel, t.right, r.right)
    if (read._tag === 'Answered') return read.answer
    const fold = analyticsFold(r.right)
    const scanned = await scan(t.right, scopeFilter(r.right), fold.add)
    if (E.isLeft(scanned)) return scanned
    const reply = fold.result()
    return E.isLeft(reply) ? reply : E.right({ reply: reply.right, source: 'scan', ...(read._tag === 'Fallback' ? { fallback: read.why } : {}) })
  }

/** {@link answerAnalytics} without the source: the reply alone. */
export const runAnalytics =
  (scan: ScopedEventScan, readModel?: FrequencyReadModel) =>
  async (tenant: string, kind: string, body: unknown): Promise<E.Either<AppendError, AnalyticsReply>> =>
    E.map((a: AnalyticsAnswer) => a.reply)(await answerAnalytics(scan, readModel)(tenant, kind, body))

export type AnswerAnalytics = ReturnType<typeof answerAnalytics>
export type RunAnalytics = ReturnType<typeof runAnalytics>
