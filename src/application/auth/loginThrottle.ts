import * as E from 'fp-ts/lib/Either.js'
import { type DomainError, quotaExceeded } from '../../domain/streams/errors.js'
import { BucketSize, available, fullBucket, take, type TokenBucketConfig, type TokenBucketState } from '../../domain/tenants/tokenBucket.js'
import type { Clock } from '../streams/ports.js'

/** Budgets of {@link createLoginThrottle}; rates are per **minute**, bursts what an idle key may spend at once. */
export interface LoginThrottleOptions {
  /** Failed password logins per tenant and username: default 5 a minute, burst 10. */
  readonly userFailuresPerMinute?: number
  readonly userFailureBurst?: number
  /** Failed password logins per tenant, all usernames together (password spraying): default 60 a minute, burst 100. */
  readonly tenantFailuresPerMinute?: number
  readonly tenantFailureBurst?: number
  /** `auth.token` and `auth.refresh` requests per principal: default 30 a minute, burst 30. */
  readonly tokenRequestsPerMinute?: number
  readonly tokenRequestBurst?: number
  /** Most buckets held (least recently used dropped first). Default 100,000. */
  readonly maxBuckets?: number
}

/**
 * Login rate limits, in this process's memory (so N processors allow up to N times each budget):
 *
 * - `checkLogin(tenant, username)` before a password (or invitation) check: refused while the
 *   failures of that username, or of the whole tenant, have spent their budget —
 *   `QUOTA_EXCEEDED` with `quota` `loginFailures` (per user) or `tenantLoginFailures`, `limit`
 *   (failures a minute) and `retryAfterMs` (when one more try is allowed, to within 60 ms). It takes nothing:
 *   only `loginFailed` does, so a user who types the right password is never slowed down by its own
 *   successes, and while throttled even the right password is refused (a guesser learns nothing).
 * - `loginFailed(tenant, username)` after a refused check: takes one from both budgets.
 * - `takeTokenRequest(tenant, principal)`: one `auth.token` or `auth.refresh` request of a
 *   principal, or `QUOTA_EXCEEDED` (`quota: tokenRequests`, `limit`, `retryAfterMs`).
 * Usernames are folded to lower case (as the user store does). Memory is bounded by `maxBuckets`;
 * a bucket forgotten is full again, so eviction can only hand an attacker one more burst, which
 * needs more than `maxBuckets` distinct names within a few minutes.
 */
export interface LoginThrottle {
  checkLogin(tenant: string, username: string): E.Either<DomainError, void>
  loginFailed(tenant: string, username: string): void
  takeTokenRequest(tenant: string, principal: string): E.Either<DomainError, void>
}

/** Bucket time runs 60 times slower than the clock, so a rate of n "per second" is n a minute. */
const MINUTE_SCALE = 60

const config = (rate: number, burst: number): TokenBucketConfig => {
  if (!BucketSize.is(rate) || !BucketSize.is(burst)) throw new Error('login throttle: rates and bursts must be integers from 1 to 10^9')
  return { rate, burst }
}

export const createLoginThrottle = (clock: Clock, o: LoginThrottleOptions = {}): LoginThrottle => {
  const user = config(o.userFailuresPerMinute ?? 5, o.userFailureBurst ?? 10)
  const tenant = config(o.tenantFailuresPerMinute ?? 60, o.tenantFailureBurst ?? 100)
  const tokens = config(o.tokenRequestsPerMinute ?? 30, o.tokenRequestBurst ?? 30)
  const maxBuckets = o.maxBuckets ?? 100_000
  const buckets = new Map<string, TokenBucketState>()
  const now = (): number => Math.floor(clock.now().getTime() / MINUTE_SCALE)

  const stateOf = (key: string, cfg: TokenBucketConfig, t: number): TokenBucketState => {
    const held = buckets.get(key)
    if (held !== undefined) {
      buckets.delete(key) // re-inserted by the caller: least recently used first
      return held
    }
    if (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value as string)
    return fullBucket(cfg, t)
  }
  /** Whether one token is there, without taking it; the wait (in clock ms) when not. */
  const peek = (key: string, cfg: TokenBucketConfig, t: number): number | undefined => {
    const state = stateOf(key, cfg, t)
    buckets.set(key, state)
    if (available(cfg, state, t) >= 1) return undefined
    const r = take(cfg, state, 1, t)
    return r._tag === 'Wait' ? r.retryAfterMs * MINUTE_SCALE : MINUTE_SCALE * 1_000
  }
  const takeOne = (key: string, cfg: TokenBucketConfig, t: number): number | undefined => {
    const r = take(cfg, stateOf(key, cfg, t), 1, t)
    buckets.set(key, r.state)
    return r._tag === 'Taken' ? undefined : r._tag === 'Wait' ? r.retryAfterMs * MINUTE_SCALE : MINUTE_SCALE * 1_000
  }
  const userKey = (t: string, u: string): string => `u|${t}|${u.toLowerCase()}`
  const tenantKey = (t: string): string => `t|${t}`

  return {
    checkLogin(t, u) {
      const at = now()
      const waitUser = peek(userKey(t, u), user, at)
      if (waitUser !== undefined) return E.left(quotaExceeded('loginFailures', user.rate, waitUser))
      const waitTenant = peek(tenantKey(t), tenant, at)
      return waitTenant === undefined ? E.right(undefined) : E.left(quotaExceeded('tenantLoginFailures', tenant.rate, waitTenant))
    },
    loginFailed(t, u) {
      const at = now()
      takeOne(userKey(t, u), user, at)
      takeOne(tenantKey(t), tenant, at)
    },
    takeTokenRequest(t, p) {
      const wait = takeOne(`k|${t}|${p}`, tokens, now())
      return wait === undefined ? E.right(undefined) : E.left(quotaExceeded('tokenRequests', tokens.rate, wait))
    },
  }
}
