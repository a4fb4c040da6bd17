import * as E from 'fp-ts/lib/Either.js'
import { analyticsFold } from '../../domain/analytics/analytics.js'
import { analyticsKinds, isAnalyticsKind, scopeFilter, validateAnalyticsRequest } from '../../domain/analytics/analyticsRequest.js'
import type { AnalyticsReply } from '../../domain/analytics/fold.js'
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
 * `allsource.analytics.<tenant>.<kind>`, one use case for every door (NATS, HTTP, library, CLI):
 * checks the tenant and the kind (an unknown kind is `NotFound`: the kind is part of the address,
 * as an unknown projection is), validates the body, scans the request's scope once through
 * `scan`, and answers the kind's fold.
 */
export const runAnalytics =
  (scan: ScopedEventScan) =>
  async (tenant: string, kind: string, body: unknown): Promise<E.Either<AppendError, AnalyticsReply>> => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return t
    if (!isAnalyticsKind(kind)) return E.left(notFound(`no analytics kind "${kind.slice(0, 64)}"; the kinds are ${analyticsKinds.join(', ')}`))
    const r = validateAnalyticsRequest(kind, body)
    if (E.isLeft(r)) return r
    const fold = analyticsFold(r.right)
    const scanned = await scan(t.right, scopeFilter(r.right), fold.add)
    return E.isLeft(scanned) ? scanned : fold.result()
  }

export type RunAnalytics = ReturnType<typeof runAnalytics>
