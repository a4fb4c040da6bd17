import { describe, expect, it } from 'vitest'
import { createInFlightLimit, eventLoopBusy, MIN_ADAPTIVE_IN_FLIGHT, MIN_SATURATED_IN_FLIGHT, overloadOf } from '../../../src/adapters/nats/service/inFlightLimit.js'

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

describe('saturation bound (event loop busy >= 97% of a window in which a request was refused)', () => {
  /** A limit on a hand-driven clock and a hand-set event loop utilisation. */
  const driven = (max: number) => {
    let t = 0
    let busy = 0
    const limit = createInFlightLimit({ max, maxQueueMs: 2_000, now: () => t, busy: () => busy })
    return { limit, advance: (ms: number) => (t += ms), setBusy: (b: number) => (busy = b) }
  }
  type Limit = ReturnType<typeof createInFlightLimit>
  /** Takes up to `n` slots and keeps them (requests in flight); one more than the limit allows is refused. */
  const hold = (limit: Limit, n: number) => {
    let taken = 0
    while (taken < n && limit.tryAcquire()) taken++
    return taken
  }
  const releaseAll = (limit: Limit) => {
    while (limit.inFlight > 0) limit.release()
  }
  /** 5000 completions in 0.5 s (10000/s): Little's law alone allows a cap of 5000. */
  const fast = (limit: Limit) => {
    for (let i = 0; i < 5_000; i++) if (limit.tryAcquire()) limit.release()
  }

  it('halves the limit from the most requests in flight in a saturated window with refusals, down to its floor, and says how busy the loop was', () => {
    const { limit, advance, setBusy } = driven(5_000)
    fast(limit)
    advance(500)
    expect(limit.limit).toBe(5_000)
    setBusy(0.99)
    const limits: number[] = []
    for (let i = 0; i < 8; i++) {
      hold(limit, 100_000) // up to the limit, and one refused
      advance(500)
      limits.push(limit.limit)
      releaseAll(limit)
    }
    expect(limits).toEqual([2_500, 1_250, 625, 312, 156, 128, 128, 128])
    expect(limits.at(-1)).toBe(MIN_SATURATED_IN_FLIGHT)
    expect(limit.busy).toBe(0.99)
    expect(overloadOf(limit, 4_500)).toMatch(/, event loop 99% busy\)$/)
  })

  it('leaves the limit alone when the loop is below the threshold or nothing was refused, and raises the ceiling by a quarter a window after', () => {
    const { limit, advance, setBusy } = driven(5_000)
    fast(limit)
    hold(limit, 100_000)
    setBusy(0.96)
    advance(500)
    expect(limit.limit).toBe(5_000) // 96% busy is not saturated
    releaseAll(limit)
    // Saturated by what it admitted (closed-loop clients at capacity), nothing refused: unchanged.
    fast(limit)
    hold(limit, 1_000)
    setBusy(1)
    advance(500)
    expect(limit.limit).toBe(5_000)
    // Now offered more than the limit (the rest of its 5000 slots taken, one refused): halved from the peak.
    hold(limit, 100_000)
    advance(500)
    expect(limit.limit).toBe(2_500)
    releaseAll(limit)
    setBusy(0.5)
    const limits: number[] = []
    for (let i = 0; i < 5; i++) {
      fast(limit)
      advance(500)
      limits.push(limit.limit)
    }
    expect(limits).toEqual([3_125, 3_907, 4_884, 5_000, 5_000])
  })

  it('never lowers the limit of an idle processor (a stall is not saturation), nor without a busy reader', () => {
    const { limit, advance } = driven(5_000)
    hold(limit, 100_000)
    for (let i = 0; i < 10; i++) advance(500)
    // Nothing completed: the adaptive floor, not the saturation floor.
    expect(limit.limit).toBe(MIN_ADAPTIVE_IN_FLIGHT)
    let t = 0
    const plain = createInFlightLimit({ max: 5_000, maxQueueMs: 2_000, now: () => t })
    fast(plain)
    t += 500
    expect(plain.limit).toBe(5_000)
    expect(plain.busy).toBeUndefined()
  })

  it('reads the real event loop: a busy loop is near 1, an idle one near 0', async () => {
    const busy = eventLoopBusy()
    const until = performance.now() + 100
    while (performance.now() < until) {
      // spin
    }
    expect(busy()).toBeGreaterThan(0.5)
    await new Promise((r) => setTimeout(r, 200))
    expect(busy()).toBeLessThan(0.5)
  })
})
