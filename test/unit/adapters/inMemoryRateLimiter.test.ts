import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createInMemoryRateLimiter } from '../../../src/adapters/memory/inMemoryRateLimiter.js'
import type { RateLimitRequest } from '../../../src/application/tenants/rateLimiter.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import type { Limit } from '../../../src/domain/tenants/tenant.js'

/** A clock the test moves by hand. */
const manualClock = (start = 1_000_000) => {
  let now = start
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) }
}
const acme = 'acme' as TenantId
const lim = (n: number | null) => n as Limit
const req = (tenantRate: number | null, over: Partial<RateLimitRequest> = {}): RateLimitRequest => ({ tenant: acme, tenantRate: lim(tenantRate), ...over })

describe('in-memory rate limiter', () => {
  it('admits a burst of the tenant rate, then refuses with QUOTA_EXCEEDED and the exact wait', () => {
    const clock = manualClock()
    const rl = createInMemoryRateLimiter({ clock })
    for (let i = 0; i < 10; i++) expect(rl.take(req(10))).toEqual(E.right(undefined))
    expect(rl.take(req(10))).toEqual(
      E.left({ _tag: 'QuotaExceeded', quota: 'appendsPerSecond', limit: 10, retryAfterMs: 100, message: 'appendsPerSecond quota of 10 is spent; retry after 100 ms' }),
    )
    clock.advance(99)
    expect(rl.take(req(10))).toMatchObject(E.left({ retryAfterMs: 1 }))
    clock.advance(1)
    expect(E.isRight(rl.take(req(10)))).toBe(true)
    expect(rl.budget(acme, lim(10))).toEqual({ tenant: { limit: 10, available: 0 }, keys: {} })
  })

  it('null is unlimited and holds nothing; 0 refuses everything', () => {
    const rl = createInMemoryRateLimiter({ clock: manualClock() })
    for (let i = 0; i < 1000; i++) expect(E.isRight(rl.take(req(null, { keyId: 'k1' })))).toBe(true)
    expect(rl.budget(acme, lim(null))).toEqual({ tenant: { limit: null, available: null }, keys: {} })
    expect(rl.take(req(0))).toMatchObject(E.left({ quota: 'appendsPerSecond', limit: 0, retryAfterMs: 1000 }))
  })

  it('a key has its own bucket (default: the tenant rate); a refusal takes from neither bucket', () => {
    const clock = manualClock()
    const rl = createInMemoryRateLimiter({ clock, defaultKeyRate: lim(2) })
    expect(E.isRight(rl.take(req(5, { keyId: 'k1' })))).toBe(true)
    expect(E.isRight(rl.take(req(5, { keyId: 'k1' })))).toBe(true)
    expect(rl.take(req(5, { keyId: 'k1' }))).toMatchObject(E.left({ quota: 'keyAppendsPerSecond', limit: 2, retryAfterMs: 500 }))
    // The refused request took nothing from the tenant: 3 left for other keys.
    expect(rl.budget(acme, lim(5))).toEqual({ tenant: { limit: 5, available: 3 }, keys: { k1: { limit: 2, available: 0 } } })
    for (const k of ['k2', 'k2', 'k3']) expect(E.isRight(rl.take(req(5, { keyId: k })))).toBe(true)
    expect(rl.take(req(5, { keyId: 'k3' }))).toMatchObject(E.left({ quota: 'appendsPerSecond', limit: 5, retryAfterMs: 200 }))
    // An explicit key rate wins over the default; the tenant's own default is its rate.
    const rl2 = createInMemoryRateLimiter({ clock })
    for (let i = 0; i < 5; i++) expect(E.isRight(rl2.take(req(5, { keyId: 'k' })))).toBe(true)
    // Both buckets empty, equal waits: the tenant's is reported.
    expect(rl2.take(req(5, { keyId: 'k' }))).toMatchObject(E.left({ quota: 'appendsPerSecond', retryAfterMs: 200 }))
    const globex = { tenant: 'globex' as TenantId }
    expect(rl2.take(req(100, { ...globex, keyId: 'other', keyRate: lim(1) }))).toEqual(E.right(undefined))
    expect(rl2.take(req(100, { ...globex, keyId: 'other', keyRate: lim(1) }))).toMatchObject(E.left({ quota: 'keyAppendsPerSecond', limit: 1 }))
  })

  it('a changed quota applies at once; tokens above the new burst are dropped', () => {
    const clock = manualClock()
    const rl = createInMemoryRateLimiter({ clock })
    expect(E.isRight(rl.take(req(500)))).toBe(true)
    expect(rl.budget(acme, lim(10))).toEqual({ tenant: { limit: 10, available: 10 }, keys: {} })
    for (let i = 0; i < 10; i++) expect(E.isRight(rl.take(req(10)))).toBe(true)
    expect(E.isLeft(rl.take(req(10)))).toBe(true)
  })

  it('keeps at most maxBuckets buckets, evicting the least recently used', () => {
    const clock = manualClock()
    const rl = createInMemoryRateLimiter({ clock, maxBuckets: 3 })
    const t = (s: string) => s as TenantId
    for (const name of ['a', 'b', 'c']) expect(E.isRight(rl.take({ tenant: t(name), tenantRate: lim(1) }))).toBe(true)
    expect(E.isLeft(rl.take({ tenant: t('a'), tenantRate: lim(1) }))).toBe(true) // a is now the most recent
    expect(E.isRight(rl.take({ tenant: t('d'), tenantRate: lim(1) }))).toBe(true) // evicts b
    expect(E.isLeft(rl.take({ tenant: t('a'), tenantRate: lim(1) }))).toBe(true) // a was kept: still empty
    expect(E.isRight(rl.take({ tenant: t('b'), tenantRate: lim(1) }))).toBe(true) // b was forgotten: starts full
  })

  it('never admits more than burst + rate × elapsed per tenant, with keys mixed in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 120 }), fc.constantFrom('k1', 'k2', undefined)), { minLength: 1, maxLength: 300 }),
        (rate, steps) => {
          const clock = manualClock(0)
          const rl = createInMemoryRateLimiter({ clock })
          const admitted: number[] = []
          let now = 0
          for (const [gap, keyId] of steps) {
            clock.advance(gap)
            now += gap
            const r = rl.take(req(rate, keyId === undefined ? {} : { keyId }))
            if (E.isRight(r)) admitted.push(now)
            else expect(r.left).toMatchObject({ _tag: 'QuotaExceeded' })
          }
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length; j++) {
              expect(1000 * (j - i + 1)).toBeLessThanOrEqual(1000 * rate + rate * ((admitted[j] as number) - (admitted[i] as number)))
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
