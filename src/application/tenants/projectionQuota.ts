import * as E from 'fp-ts/lib/Either.js'
import { quotaExceeded } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import { type AppendError, unavailable } from '../streams/errors.js'

/** How many durable named subscriptions a tenant holds now (auth mode: JetStream consumer names). Rejects when the log cannot tell. */
export type SubscriptionCount = (tenant: TenantId) => Promise<number>

/** What `projections.create` would answer: when a tenant's count is read again after a refusal (a hint; the quota frees when one is deleted or the quota raised). */
export const PROJECTIONS_RETRY_MS = 60_000

/**
 * The `projections` quota, checked before a tenant creates something it counts. It counts the
 * tenant's **durable named subscriptions** (and, once they exist, the tenant's own run-time
 * projections and pipelines: the built-in projections are the platform's and count for no one).
 *
 * - The tenant must be admitted (`admit`: unknown `TENANT_NOT_FOUND`, suspended `TENANT_SUSPENDED`).
 * - `null` (unlimited) passes without counting.
 * - Otherwise the count (`count`, one read of the log per create: a management call, not the data
 *   path) must be below the quota, else `QUOTA_EXCEEDED` (`quota: "projections"`, `limit`, `used`;
 *   it does not reset by itself). A count that cannot be read is `UNAVAILABLE` (the create needs the
 *   same log).
 *
 * Limits: creates racing each other can each see the count below the quota (exceeded by at most
 * the creates in flight at that moment).
 */
export const checkProjectionQuota =
  (deps: { readonly admit: (tenant: string) => Promise<E.Either<AppendError, Tenant>>; readonly count: SubscriptionCount }) =>
  async (tenant: string): Promise<E.Either<AppendError, void>> => {
    const admitted = await deps.admit(tenant)
    if (E.isLeft(admitted)) return admitted
    const limit = admitted.right.quotas.projections
    if (limit === null) return E.right(undefined)
    let used: number
    try {
      used = await deps.count(admitted.right.tenant)
    } catch (e) {
      return E.left(unavailable(`the subscriptions of ${tenant} could not be counted: ${e instanceof Error ? e.message : String(e)}`, { retryAfterMs: 1_000 }))
    }
    if (used < limit) return E.right(undefined)
    const message = `projections quota of ${limit} is spent (${used} durable subscriptions); it does not reset by itself: delete a subscription or raise the quota`
    return E.left(quotaExceeded('projections', limit, PROJECTIONS_RETRY_MS, { used, message }))
  }
