import { describe, expect, it } from 'vitest'
import { createInFlightLimit, MIN_ADAPTIVE_IN_FLIGHT, overloadOf } from '../../../src/adapters/nats/service/inFlightLimit.js'

describe('in-flight cap', () => {
  it('hands out max slots, refuses the next and counts it, and takes one again after a release', () => {
    const limit = createInFlightLimit(2)
    expect([limit.tryAcquire(), limit.tryAcquire(), limit.tryAcquire()]).toEqual([true, true, false])
    expect({ inFlight: limit.inFlight, refused: limit.refused }).toEqual({ inFlight: 2, refused: 1 })
    limit.release()
    expect(limit.tryAcquire()).toBe(true)
  })

  it('refuses a cap below 1', () => {
    expect(() => createInFlightLimit(0)).toThrow(/>= 1/)
    expect(() => createInFlightLimit({ maxQueueMs: -1 })).toThrow(/>= 0/)
  })
})

describe('adaptive in-flight limit (maxQueueMs of work at the measured rate)', () => {
  /** A limit on a hand-driven clock. */
  const driven = (max: number, maxQueueMs: number) => {
    let t = 0
    const limit = createInFlightLimit({ max, maxQueueMs, now: () => t })
    return { limit, advance: (ms: number) => (t += ms), at: () => t }
  }
  /** Serves `n` requests (acquire then release) within the current window. */
  const serve = (limit: ReturnType<typeof createInFlightLimit>, n: number) => {
    for (let i = 0; i < n; i++) if (limit.tryAcquire()) limit.release()
  }

  it('holds the hard cap until a rate is measured', () => {
    const { limit } = driven(5_000, 2_000)
    expect(limit.limit).toBe(5_000)
  })

  it('sets the limit to maxQueueMs of work at the completion rate, within [floor, max]', () => {
    const { limit, advance } = driven(50_000, 2_000)
    serve(limit, 1_000) // 1000 completions in 0.5 s: 2000/s
    advance(500)
    expect(limit.limit).toBe(4_000)
    expect(limit.ratePerSecond).toBe(2_000)
    serve(limit, 10) // a quiet window halves the rate, the floor holds
    advance(500)
    expect(limit.limit).toBe(2_020)
    const limits: number[] = []
    for (let i = 0; i < 10; i++) {
      advance(500)
      limits.push(limit.limit)
    }
    expect(limits.at(-1)).toBe(MIN_ADAPTIVE_IN_FLIGHT)
  })

  it('under overload refuses past the limit at once, and says so for a second', () => {
    const { limit, advance, at } = driven(50_000, 1_000)
    serve(limit, 600) // 1200/s: limit 1200
    advance(500)
    let taken = 0
    while (limit.tryAcquire()) taken++
    expect(taken).toBe(1_200)
    expect(limit.refused).toBe(1)
    expect(overloadOf(limit, at())).toMatch(/^overloaded: refusing requests \(1200 in flight, limit 1200/)
    expect(overloadOf(limit, at() + 1_001)).toBeUndefined()
  })
})
