import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { storeMillisOf } from '../../../src/adapters/nats/reading/directBatch.js'
import { batchSize, directGetsServe, storeMillis } from '../../../src/adapters/nats/reading/idLookup.js'

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

describe('batchSize (direct-get batches of a lookup pass)', () => {
  it('grows 64, 256, 1,024, then 4,096 while nothing says the pass ends sooner', () => {
    expect([0, 1, 2, 3, 9].map((i) => batchSize(i, undefined, 1_000))).toEqual([64, 256, 1_024, 4_096, 4_096])
    // 64 commits over 64 ms, 1,000 ms left: more than any batch.
    expect(batchSize(1, { read: 64, firstMs: 0, lastMs: 63 }, 1_063)).toBe(256)
  })

  it('asks for no more than the rest of the pass should hold, a quarter more, at least 16', () => {
    // 64 commits in 4 ms (16 per ms), 16 ms left: 16 × 17 × 1.25 + 16.
    expect(batchSize(2, { read: 64, firstMs: 100, lastMs: 103 }, 119)).toBe(Math.ceil(17 * 16 * 1.25) + 16)
    expect(batchSize(1, { read: 64, firstMs: 100, lastMs: 103 }, 119)).toBe(256) // the growth caps it first
    // Already at the end: just the floor.
    expect(batchSize(3, { read: 500, firstMs: 0, lastMs: 20 }, 20)).toBe(16 + Math.ceil(500 / 21 * 1.25))
    expect(batchSize(3, { read: 5, firstMs: 0, lastMs: 500 }, 20)).toBe(16)
  })

  it('is always a whole number from 16 to 4,096, whatever it is told', () => {
    fc.assert(
      fc.property(fc.nat(20), fc.option(fc.record({ read: fc.nat(100_000), firstMs: fc.double(), lastMs: fc.double() }), { nil: undefined }), fc.double(), (i, progress, untilMs) => {
        const n = batchSize(i, progress, untilMs)
        expect(Number.isInteger(n)).toBe(true)
        expect(n).toBeGreaterThanOrEqual(16)
        expect(n).toBeLessThanOrEqual(4_096)
      }),
    )
  })
})
