import { describe, expect, it } from 'vitest'
import { createInFlightLimit } from '../../../src/adapters/nats/service/inFlightLimit.js'

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
  })
})
