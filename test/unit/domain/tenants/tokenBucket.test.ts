import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type TokenBucketState,
  TokenBucketConfig,
  available,
  fullBucket,
  isFull,
  refill,
  take,
} from '../../../../src/domain/tenants/tokenBucket.js'

const cfg = (rate: number, burst: number): TokenBucketConfig => {
  const r = TokenBucketConfig.decode({ rate, burst })
  if (E.isLeft(r)) throw new Error(`bad config ${rate}/${burst}`)
  return r.right
}

const arbCfg = fc.record({ rate: fc.integer({ min: 1, max: 2000 }), burst: fc.integer({ min: 1, max: 50 }) }).map((c) => cfg(c.rate, c.burst))
/** Requests as (ms since the previous one, tokens asked). */
const arbSteps = fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 200 })

describe('token bucket', () => {
  it('starts full, takes, refills at the rate, caps at the burst', () => {
    const c = cfg(10, 3)
    let s: TokenBucketState = fullBucket(c, 0)
    for (let i = 0; i < 3; i++) {
      const r = take(c, s, 1, 0)
      expect(r._tag).toBe('Taken')
      s = r.state
    }
    expect(take(c, s, 1, 0)).toMatchObject({ _tag: 'Wait', retryAfterMs: 100 })
    expect(take(c, s, 1, 99)).toMatchObject({ _tag: 'Wait', retryAfterMs: 1 })
    expect(take(c, s, 1, 100)._tag).toBe('Taken')
    expect(available(c, s, 1_000_000)).toBe(3)
    expect(isFull(c, s, 299)).toBe(false)
    expect(isFull(c, s, 300)).toBe(true)
    expect(take(c, s, 4, 1_000_000)._tag).toBe('NeverEnough')
  })

  it('rates that do not divide a second are exact: 3 per second is one token per 333⅓ ms', () => {
    const c = cfg(3, 1)
    const empty = { millitokens: 0, updatedAt: 0 }
    expect(take(c, empty, 1, 0)).toMatchObject({ retryAfterMs: 334 })
    expect(take(c, empty, 1, 333)._tag).toBe('Wait')
    expect(take(c, empty, 1, 334)._tag).toBe('Taken')
    // Three tokens after exactly one second, with no remainder lost along the way.
    let s: TokenBucketState = empty
    let taken = 0
    for (let now = 0; now <= 1000; now++) {
      const r = take(cfg(3, 3), s, 1, now)
      s = r.state
      if (r._tag === 'Taken') taken++
    }
    expect(taken).toBe(3)
  })

  it('a clock stepping back adds nothing; huge gaps stay exact and capped', () => {
    const c = cfg(1_000_000_000, 1_000_000_000)
    const s = { millitokens: 0, updatedAt: 1_000 }
    expect(refill(c, s, 500)).toEqual(s)
    expect(refill(c, s, Number.MAX_SAFE_INTEGER).millitokens).toBe(1_000_000_000 * 1000)
    expect(Number.isSafeInteger(refill(c, s, Number.MAX_SAFE_INTEGER).millitokens)).toBe(true)
  })

  it('refuses configs outside 1–10⁹ integers', () => {
    for (const bad of [{ rate: 0, burst: 1 }, { rate: 1, burst: 0 }, { rate: 1.5, burst: 1 }, { rate: 1, burst: 1e10 }]) {
      expect(E.isLeft(TokenBucketConfig.decode(bad))).toBe(true)
    }
  })

  it('never admits more than burst + rate × elapsed over any interval', () => {
    fc.assert(
      fc.property(arbCfg, arbSteps, (c, steps) => {
        let s = fullBucket(c, 0)
        let now = 0
        const admitted: Array<readonly [number, number]> = []
        for (const [gap, n] of steps) {
          now += gap
          const r = take(c, s, n, now)
          s = r.state
          if (r._tag === 'Taken') admitted.push([now, n])
        }
        // Every interval [admitted[i].at, admitted[j].at] (the tightest ones).
        for (let i = 0; i < admitted.length; i++) {
          let sum = 0
          for (let j = i; j < admitted.length; j++) {
            sum += (admitted[j] as readonly [number, number])[1]
            const d = (admitted[j] as readonly [number, number])[0] - (admitted[i] as readonly [number, number])[0]
            // In millitokens, all integers: 1000 × sum ≤ 1000 × burst + rate × d.
            expect(1000 * sum).toBeLessThanOrEqual(1000 * c.burst + c.rate * d)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('retryAfterMs is exact: waiting it succeeds, one ms less does not', () => {
    fc.assert(
      fc.property(arbCfg, arbSteps, fc.integer({ min: 1, max: 50 }), (c, steps, n) => {
        let s = fullBucket(c, 0)
        let now = 0
        for (const [gap, k] of steps) {
          now += gap
          s = take(c, s, k, now).state
        }
        const r = take(c, s, n, now)
        if (n > c.burst) expect(r._tag).toBe('NeverEnough')
        else if (r._tag === 'Wait') {
          expect(r.retryAfterMs).toBeGreaterThanOrEqual(1)
          expect(take(c, r.state, n, now + r.retryAfterMs)._tag).toBe('Taken')
          expect(take(c, r.state, n, now + r.retryAfterMs - 1)._tag).toBe('Wait')
        } else expect(r._tag).toBe('Taken')
      }),
      { numRuns: 2000 },
    )
  })
})
