import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { uuidv7 } from '../../../../src/adapters/system/uuidv7.js'
import { commitHolding, mayHoldId } from '../../../../src/adapters/nats/reading/idLookup.js'
import { encodeCommit } from '../../../../src/adapters/codec/commitCodec.js'
import { defaultIdWindow, findableByTime, planIdScan, uuidv7Millis } from '../../../../src/domain/reading/idWindow.js'
import type { Commit } from '../../../../src/domain/streams/event.js'
import type { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../../../src/domain/streams/ids.js'

/** A UUIDv7 text with the given Unix milliseconds and arbitrary other bits. */
const v7At = (ms: number, tail = '7abc-8def-0123456789ab'): string => {
  const hex = ms.toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8)}-${tail}`
}

describe('uuidv7Millis', () => {
  it('reads the 48-bit Unix milliseconds of the ids the processor mints', () => {
    const before = Date.now()
    const id = uuidv7()
    const ms = uuidv7Millis(id)
    expect(ms).toBeGreaterThanOrEqual(before)
    expect(ms).toBeLessThanOrEqual(Date.now() + 1) // the counter may borrow the next millisecond
  })

  it('round-trips any 48-bit timestamp, in either case', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
        expect(uuidv7Millis(v7At(ms))).toBe(ms)
        expect(uuidv7Millis(v7At(ms).toUpperCase())).toBe(ms)
      }),
    )
  })

  it('is undefined for anything that is not a UUIDv7', () => {
    for (const id of [
      'e-1-2',
      '0193b0c4-8c1a-4000-8000-000000000000', // version 4
      '0193b0c4-8c1a-7000-c000-000000000000', // variant bits 11
      '0193b0c48c1a70008000000000000000', // no dashes
      '0193b0c4-8c1a-7000-8000-000000000000x',
      ' 0193b0c4-8c1a-7000-8000-000000000000',
      '0193b0c4-8c1a-7000-8000-00000000000g',
      '',
    ]) {
      expect(uuidv7Millis(id)).toBeUndefined()
    }
  })
})

describe('findableByTime and planIdScan', () => {
  const w = defaultIdWindow
  const ms = 1_765_000_000_000
  const id = v7At(ms)

  it('admits store times strictly inside the window, one millisecond in from each edge', () => {
    expect(findableByTime(id, ms)).toBe(true)
    expect(findableByTime(id, ms - w.beforeMs + 1)).toBe(true)
    expect(findableByTime(id, ms - w.beforeMs)).toBe(false)
    expect(findableByTime(id, ms + w.afterMs - 1)).toBe(true)
    expect(findableByTime(id, ms + w.afterMs)).toBe(false)
    expect(findableByTime('order-17', ms)).toBe(false)
  })

  it('plans rings outwards from the id: its millisecond on, the near ms before, then further after, before, after', () => {
    expect(planIdScan(id)).toEqual([
      { fromMs: ms, untilMs: ms + w.nearMs, near: true },
      { fromMs: ms - w.nearMs, untilMs: ms - 1, near: true },
      { fromMs: ms + w.nearMs + 1, untilMs: ms + w.nearAfterMs, near: false },
      { fromMs: ms - w.beforeMs, untilMs: ms - w.nearMs - 1, near: false },
      { fromMs: ms + w.nearAfterMs + 1, untilMs: ms + w.afterMs, near: false },
    ])
    // Rings wider than the window are clamped to it, and empty passes left out.
    expect(planIdScan(id, { beforeMs: 10, afterMs: 100, nearMs: 50, nearAfterMs: 100 })).toEqual([
      { fromMs: ms, untilMs: ms + 50, near: true },
      { fromMs: ms - 10, untilMs: ms - 1, near: true },
      { fromMs: ms + 51, untilMs: ms + 100, near: false },
    ])
    expect(planIdScan(id, { beforeMs: 0, afterMs: 0, nearMs: 20, nearAfterMs: 500 })).toEqual([{ fromMs: ms, untilMs: ms, near: true }])
    expect(planIdScan('order-17')).toEqual([])
  })

  it('starts at the id’s own millisecond: nothing stored before it is read unless the first pass misses', () => {
    const [first] = planIdScan(id)
    expect(first?.fromMs).toBe(ms)
  })

  it('covers every store time that findableByTime admits, whatever the window, each once', () => {
    fc.assert(
      fc.property(
        fc.record({ beforeMs: fc.integer({ min: 0, max: 5_000 }), afterMs: fc.integer({ min: 0, max: 5_000 }), nearMs: fc.integer({ min: 0, max: 5_000 }), nearAfterMs: fc.integer({ min: 0, max: 5_000 }) }),
        fc.integer({ min: -6_000, max: 6_000 }),
        (window, delta) => {
          const at = ms + delta
          const covering = planIdScan(id, window).filter((p) => at >= p.fromMs && at <= p.untilMs).length
          if (findableByTime(id, at, window)) expect(covering).toBe(1)
          expect(covering).toBeLessThanOrEqual(1)
        },
      ),
    )
  })
})

describe('the commit pre-filter', () => {
  const commit = (ids: readonly string[], payload: unknown = { n: 1 }): Commit => ({
    commitId: 'c-1' as CommitId,
    tenant: 'acme' as TenantId,
    stream: 's-1' as StreamId,
    events: ids.map((id, i) => ({ id: id as EventId, type: 't' as EventType, version: (i + 1) as Version, timestamp: new Date(0), payload })),
  })
  const bytes = (id: string) => Buffer.from(id, 'latin1')

  it('skips a commit whose body lacks the id and confirms one that holds it', () => {
    const body = encodeCommit(commit(['a-1', 'a-2']))
    expect(mayHoldId(body, bytes('a-3'))).toBe(false)
    expect(commitHolding(body, 7, 'a-2', bytes('a-2'))?.events.map((e) => e.id)).toEqual(['a-1', 'a-2'])
  })

  it('does not take an id that appears only in a payload, or as part of a longer id, for a match', () => {
    const body = encodeCommit(commit(['a-10'], { ref: 'a-1' }))
    expect(mayHoldId(body, bytes('a-1'))).toBe(true)
    expect(commitHolding(body, 7, 'a-1', bytes('a-1'))).toBeUndefined()
  })
})
