import type * as E from 'fp-ts/lib/Either.js'
import type { DomainError } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { Limit } from '../../domain/tenants/tenant.js'

/** Who is appending, and the rates that apply (appends per second; `null`: no limit). */
export interface RateLimitRequest {
  readonly tenant: TenantId
  /** The tenant's `appendsPerSecond` quota. */
  readonly tenantRate: Limit
  /** The API key (or user) appending, when known: it gets a bucket of its own too. */
  readonly keyId?: string
  /** The key's own rate; absent: the limiter's default for keys. */
  readonly keyRate?: Limit
}

/** One bucket's budget: its rate and the whole tokens it holds now; both `null` when unlimited. */
export interface Budget {
  readonly limit: number | null
  readonly available: number | null
}

/** The current budget of a tenant and of each of its keys the limiter holds (for `stats`). */
export interface RateBudget {
  readonly tenant: Budget
  readonly keys: Readonly<Record<string, Budget>>
}

/**
 * Rate limits on appends (issue 11 item 6): one token bucket per tenant and one per API key.
 *
 * Guarantees an implementation must give:
 * - `take` admits a request only if both the tenant's and the key's bucket hold a token, and then
 *   takes one from each; a refused request takes nothing from either.
 * - A refusal is `QuotaExceeded` with `quota` (`appendsPerSecond` for the tenant's bucket,
 *   `keyAppendsPerSecond` for the key's), `limit` (that rate) and `retryAfterMs` (when that bucket
 *   holds a token again; the longer wait if both refuse).
 * - Over any interval of `d` ms a bucket admits at most `burst + rate × d / 1000` requests, as long
 *   as the limiter keeps it (see the implementation for what forgetting a bucket costs).
 * - A changed rate applies from the next request; tokens above the new burst are dropped.
 */
export interface RateLimiter {
  take(request: RateLimitRequest): E.Either<DomainError, void>
  budget(tenant: TenantId, tenantRate: Limit): RateBudget
}
