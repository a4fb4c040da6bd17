import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { storeMillisOf } from '../../../src/adapters/nats/reading/directBatch.js'
import { directGetsServe, storeMillis } from '../../../src/adapters/nats/reading/idLookup.js'

describe('storeMillisOf (the store time in direct get headers)', () => {
  it('truncates to the millisecond, as a consumer delivery’s nanoseconds are', () => {
    expect(storeMillisOf('2026-12-04T22:23:38.123999999Z')).toBe(Date.UTC(2026, 11, 4, 22, 23, 38, 123))
    expect(storeMillisOf('2026-12-04T22:23:38.1Z')).toBe(Date.UTC(2026, 11, 4, 22, 23, 38, 100)) // trailing zeros trimmed by Go
    expect(storeMillisOf('2026-12-04T22:23:38Z')).toBe(Date.UTC(2026, 11, 4, 22, 23, 38, 0))
    expect(storeMillisOf('1970-01-01T00:00:00.000999Z')).toBe(0)
  })

  it('is the instant’s millisecond, truncated, for any instant and nanoseconds within it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.integer({ min: 0, max: 999_999 }), (ms, subMs) => {
        const iso = new Date(ms).toISOString() // …sss Z
        const nanos = `${iso.slice(0, 23)}${String(subMs % 1_000_000).padStart(6, '0')}`.replace(/0+$/, '').replace(/\.$/, '')
        // Exact: a consumer's `timestampNanos` is a float past 2^53, so its millisecond may be 1 off
        // near an edge (the window keeps 1 ms to spare on each side for that), this never is.
        expect(storeMillisOf(`${nanos}Z`)).toBe(ms)
        expect(Math.abs(storeMillis(ms * 1e6 + subMs) - ms)).toBeLessThanOrEqual(1)
      }),
    )
  })

  it('is NaN for anything else', () => {
    for (const ts of ['', 'yesterday', '2026-12-04T22:23:38.123+01:00', '2026-12-04 22:23:38Z', '2026-12-04T22:23:38.1234567890Z']) expect(storeMillisOf(ts)).toBeNaN()
  })
})

describe('directGetsServe', () => {
  const r1 = { allow_direct: true, num_replicas: 1 }
  it('only on nats-server 2.11 or newer, with allow_direct, on a single replica', () => {
    expect(directGetsServe('2.11.0', r1)).toBe(true)
    expect(directGetsServe('2.15.1', r1)).toBe(true)
    expect(directGetsServe('3.0.0', r1)).toBe(true)
    expect(directGetsServe('2.10.27', r1)).toBe(false)
    expect(directGetsServe('2.9.25', r1)).toBe(false)
    expect(directGetsServe(undefined, r1)).toBe(false)
    expect(directGetsServe('garbage', r1)).toBe(false)
    expect(directGetsServe('2.15.1', { ...r1, num_replicas: 3 })).toBe(false)
    expect(directGetsServe('2.15.1', { ...r1, allow_direct: false })).toBe(false)
    expect(directGetsServe('2.15.1', {})).toBe(false)
  })
})
