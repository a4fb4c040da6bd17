import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { createLoginThrottle } from '../../../src/application/auth/loginThrottle.js'

const clockAt = (t: { ms: number }) => ({ now: () => new Date(t.ms) })

describe('login throttle', () => {
  it('allows a burst of failed logins per username, then refuses even before the password is checked, until the budget refills', () => {
    const t = { ms: 1_000_000 }
    const throttle = createLoginThrottle(clockAt(t), { userFailuresPerMinute: 5, userFailureBurst: 3 })
    for (let i = 0; i < 3; i++) {
      expect(E.isRight(throttle.checkLogin('acme', 'Ann'))).toBe(true)
      throttle.loginFailed('acme', 'ann')
    }
    const refused = throttle.checkLogin('acme', 'ann')
    expect(E.isLeft(refused) && refused.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'loginFailures', limit: 5 })
    const wait = E.isLeft(refused) && refused.left._tag === 'QuotaExceeded' ? refused.left.retryAfterMs : 0
    expect(wait).toBeGreaterThan(11_000) // 5 a minute: one every 12 s
    expect(wait).toBeLessThanOrEqual(12_060)
    // Checking takes nothing: refusals do not dig the hole deeper.
    expect(E.isLeft(throttle.checkLogin('acme', 'ann'))).toBe(true)
    // Other users and tenants are not affected.
    expect(E.isRight(throttle.checkLogin('acme', 'bob'))).toBe(true)
    expect(E.isRight(throttle.checkLogin('globex', 'ann'))).toBe(true)
    t.ms += wait
    expect(E.isRight(throttle.checkLogin('acme', 'ann'))).toBe(true)
  })

  it('the tenant budget counts every username of the tenant (spraying)', () => {
    const throttle = createLoginThrottle(clockAt({ ms: 0 }), { tenantFailuresPerMinute: 2, tenantFailureBurst: 4 })
    for (let i = 0; i < 4; i++) throttle.loginFailed('acme', `user${i}`)
    const r = throttle.checkLogin('acme', 'fresh')
    expect(E.isLeft(r) && r.left).toMatchObject({ quota: 'tenantLoginFailures', limit: 2 })
    expect(E.isRight(throttle.checkLogin('globex', 'fresh'))).toBe(true)
  })

  it('token requests per principal: the burst passes, the next is QUOTA_EXCEEDED with retryAfterMs', () => {
    const t = { ms: 0 }
    const throttle = createLoginThrottle(clockAt(t), { tokenRequestsPerMinute: 6, tokenRequestBurst: 2 })
    expect(E.isRight(throttle.takeTokenRequest('acme', 'k1'))).toBe(true)
    expect(E.isRight(throttle.takeTokenRequest('acme', 'k1'))).toBe(true)
    const r = throttle.takeTokenRequest('acme', 'k1')
    expect(E.isLeft(r) && r.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'tokenRequests', limit: 6, retryAfterMs: 10_020 })
    expect(E.isRight(throttle.takeTokenRequest('acme', 'k2'))).toBe(true)
    t.ms += 10_020
    expect(E.isRight(throttle.takeTokenRequest('acme', 'k1'))).toBe(true)
  })

  it('refuses a budget that is not an integer from 1', () => {
    expect(() => createLoginThrottle(clockAt({ ms: 0 }), { userFailuresPerMinute: 0 })).toThrow(/integers/)
  })
})
