import * as E from 'fp-ts/lib/Either.js'
import type { Clock } from '../../application/streams/ports.js'
import type { Budget, RateBudget, RateLimiter, RateLimitRequest } from '../../application/tenants/rateLimiter.js'
import { type DomainError, quotaExceeded } from '../../domain/streams/errors.js'
import type { Limit } from '../../domain/tenants/tenant.js'
import { type BucketSize, type TakeResult, type TokenBucketConfig, type TokenBucketState, available, fullBucket, refill, take } from '../../domain/tenants/tokenBucket.js'

export interface InMemoryRateLimiterOptions {
  readonly clock: Clock
  /** Most buckets held, tenants' and keys' together (least recently used evicted first). Default 100,000. */
  readonly maxBuckets: number
  /** A bucket's burst, in seconds of its rate (at least 1 token). Default 1: a quota of 10/s allows 10 at once. */
  readonly burstSeconds: number
  /** A key's rate when the request names none: `'tenant'` (default) for the tenant's own rate, or a fixed rate. */
  readonly defaultKeyRate: Limit | 'tenant'
}

/** What a rate of 0 answers: nothing is ever admitted; try again in a second (the quota's period), or raise it. */
const ZERO_RATE_RETRY_MS = 1000
/** The one answer of every admitted take (an `Either` is immutable: shared, not built per call). */
const TAKEN: E.Either<DomainError, void> = E.right(undefined)
const MAX_BUCKET = 1_000_000_000

interface Entry {
  readonly cfg: TokenBucketConfig
  readonly state: TokenBucketState
  readonly tenant: string
  readonly keyId: string | undefined
}

const configOf = (rate: number, burstSeconds: number): TokenBucketConfig => ({
  rate: Math.min(rate, MAX_BUCKET) as BucketSize,
  burst: Math.max(1, Math.min(MAX_BUCKET, Math.floor(rate * burstSeconds))) as BucketSize,
})

const sameConfig = (a: TokenBucketConfig, b: TokenBucketConfig): boolean => a.rate === b.rate && a.burst === b.burst

/**
 * Token buckets in this process's memory (a limit per processor instance: N instances admit up
 * to N times the rate; see docs/security.md "Rate limits").
 *
 * Bounded memory: at most `maxBuckets` buckets, in one map kept in least-recently-used order; a
 * new bucket beyond that evicts the least recently used one. Forgetting a bucket that had refilled
 * (idle for burst / rate seconds, 1 s by default) loses nothing, since a new bucket starts full; an
 * evicted bucket that had not refilled yet hands its holder at most one extra burst, which happens
 * only when more than `maxBuckets` tenants and keys appended within that second. Unlimited rates
 * (`null`) hold no bucket at all.
 */
export const createInMemoryRateLimiter = (options: Partial<InMemoryRateLimiterOptions> & { readonly clock: Clock }): RateLimiter => {
  const maxBuckets = options.maxBuckets ?? 100_000
  const burstSeconds = options.burstSeconds ?? 1
  const defaultKeyRate = options.defaultKeyRate ?? 'tenant'
  if (!(maxBuckets >= 2) || !(burstSeconds > 0)) throw new Error('createInMemoryRateLimiter: maxBuckets must be ≥ 2 and burstSeconds > 0')
  const buckets = new Map<string, Entry>()

  const keyOf = (tenant: string, keyId: string | undefined): string => (keyId === undefined ? `t:${tenant}` : `k:${tenant}\u0000${keyId}`)

  /** The bucket as of `now` under `rate` (refilled under its old config first when the rate changed). */
  const current = (id: string, rate: number, tenant: string, keyId: string | undefined, now: number): Entry => {
    const cfg = configOf(rate, burstSeconds)
    const held = buckets.get(id)
    if (held === undefined) return { cfg, state: fullBucket(cfg, now), tenant, keyId }
    if (sameConfig(held.cfg, cfg)) return held
    return { ...held, cfg, state: refill(cfg, refill(held.cfg, held.state, now), now) }
  }

  const store = (id: string, entry: Entry): void => {
    buckets.delete(id)
    buckets.set(id, entry)
    while (buckets.size > maxBuckets) {
      const oldest = buckets.keys().next()
      if (oldest.done === true) break
      buckets.delete(oldest.value)
    }
  }

  type Check = { readonly id: string; readonly entry: Entry; readonly result: TakeResult; readonly quota: string; readonly rate: number }
  const check = (quota: string, rate: Limit, tenant: string, keyId: string | undefined, now: number): Check | DomainError | undefined => {
    if (rate === null) return undefined
    if (rate === 0) return quotaExceeded(quota, 0, ZERO_RATE_RETRY_MS)
    const id = keyOf(tenant, keyId)
    const entry = current(id, rate, tenant, keyId, now)
    return { id, entry, result: take(entry.cfg, entry.state, 1, now), quota, rate }
  }
  const isCheck = (c: Check | DomainError | undefined): c is Check => c !== undefined && 'result' in c

  const waitOf = (c: Check | DomainError | undefined): DomainError | undefined => {
    if (c === undefined) return undefined
    if (!isCheck(c)) return c
    switch (c.result._tag) {
      case 'Taken':
        return undefined
      case 'Wait':
        return quotaExceeded(c.quota, c.rate, c.result.retryAfterMs)
      case 'NeverEnough':
        return quotaExceeded(c.quota, c.rate, ZERO_RATE_RETRY_MS)
      default: {
        const never: never = c.result
        return never
      }
    }
  }

  const tenantBudget = (tenant: string, rate: Limit, now: number): Budget => {
    if (rate === null) return { limit: null, available: null }
    if (rate === 0) return { limit: 0, available: 0 }
    const entry = current(keyOf(tenant, undefined), rate, tenant, undefined, now)
    return { limit: entry.cfg.rate, available: available(entry.cfg, entry.state, now) }
  }

  return {
    take(request: RateLimitRequest): E.Either<DomainError, void> {
      const keyRate = request.keyRate !== undefined ? request.keyRate : defaultKeyRate === 'tenant' ? request.tenantRate : defaultKeyRate
      const keyed = request.keyId !== undefined && keyRate !== null
      // Unlimited (no rate to take from): no clock read, no bucket, nothing allocated.
      if (request.tenantRate === null && !keyed) return TAKEN
      const now = options.clock.now().getTime()
      const tenantCheck = check('appendsPerSecond', request.tenantRate, request.tenant, undefined, now)
      const keyCheck = keyed ? check('keyAppendsPerSecond', keyRate, request.tenant, request.keyId, now) : undefined
      const tenantRefusal = waitOf(tenantCheck)
      const keyRefusal = waitOf(keyCheck)
      if (tenantRefusal !== undefined || keyRefusal !== undefined) {
        // The longer wait of the two refusals.
        const longest =
          tenantRefusal === undefined ? keyRefusal : keyRefusal === undefined ? tenantRefusal : keyRefusal._tag === 'QuotaExceeded' && tenantRefusal._tag === 'QuotaExceeded' && keyRefusal.retryAfterMs > tenantRefusal.retryAfterMs ? keyRefusal : tenantRefusal
        // Touch the buckets (refilled, nothing taken): a refused client is active and must stay least likely to be evicted.
        if (isCheck(tenantCheck)) store(tenantCheck.id, { ...tenantCheck.entry, state: refill(tenantCheck.entry.cfg, tenantCheck.entry.state, now) })
        if (isCheck(keyCheck)) store(keyCheck.id, { ...keyCheck.entry, state: refill(keyCheck.entry.cfg, keyCheck.entry.state, now) })
        return E.left(longest as DomainError)
      }
      if (isCheck(tenantCheck)) store(tenantCheck.id, { ...tenantCheck.entry, state: tenantCheck.result.state })
      if (isCheck(keyCheck)) store(keyCheck.id, { ...keyCheck.entry, state: keyCheck.result.state })
      return TAKEN
    },
    budget(tenant, tenantRate): RateBudget {
      const now = options.clock.now().getTime()
      const keys: Record<string, Budget> = {}
      for (const e of buckets.values()) {
        if (e.tenant === tenant && e.keyId !== undefined) keys[e.keyId] = { limit: e.cfg.rate, available: available(e.cfg, e.state, now) }
      }
      return { tenant: tenantBudget(tenant, tenantRate, now), keys }
    },
  }
}
