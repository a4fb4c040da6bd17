import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { eventFrequency, frequencyCounts, type EventFrequencyState, type FrequencyChunks } from '../../../src/domain/projections/builtins.js'
import { foldAll, type ProjectedEvent } from '../../../src/domain/projections/projection.js'

let n = 0
const ev = (at: number | string): ProjectedEvent =>
  ({ id: `e-${++n}`, type: 'a', version: n, timestamp: new Date(at), payload: {}, tenant: 'acme', stream: 's', offset: n }) as ProjectedEvent

const stateOf = (events: readonly ProjectedEvent[]): EventFrequencyState =>
  (foldAll(eventFrequency, events).get('acme.a') as EventFrequencyState | undefined) ?? eventFrequency.initialState

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const T0 = Date.parse('2026-01-01T00:00:00Z')

/** The documented counts, counted one event at a time from the times alone. */
const bruteForce = (times: readonly number[]) => {
  const iso = (ms: number) => new Date(ms).toISOString()
  const newest = Math.max(...times)
  const hourFloor = Math.floor(newest / HOUR) - 24 // minute counts: the newest hour and the 24 before it
  const dayFloor = Math.floor(newest / DAY) - 30 // hour counts: the newest day and the 30 before it
  const minutes: Record<string, number> = {}
  const hours: Record<string, number> = {}
  const days: Record<string, number> = {}
  const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1)
  for (const t of times) {
    if (Math.floor(t / HOUR) >= hourFloor) count(minutes, iso(t).slice(0, 16))
    if (Math.floor(t / DAY) >= dayFloor) count(hours, iso(t).slice(0, 13))
    count(days, iso(t).slice(0, 10))
  }
  return { minutes, hours, days }
}

/** Times spread over ~90 days, mostly close together, some far apart, in random order. */
const times = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 3 * HOUR }), fc.integer({ min: 0, max: 3 * DAY }), fc.integer({ min: 0, max: 90 * DAY })).map((d) => T0 + d),
  { minLength: 1, maxLength: 300 },
)

describe('event-frequency (version 2)', () => {
  it('counts per minute, hour and day in fixed arrays per hour, day and month', () => {
    const s = stateOf([ev('2026-11-24T10:15:30Z'), ev('2026-11-24T10:15:59Z'), ev('2026-11-24T11:00:00Z')])
    expect(s.newest).toBe('2026-11-24T11:00')
    expect(s.minutes['2026-11-24T10']?.[15]).toBe(2)
    expect(s.minutes['2026-11-24T11']?.[0]).toBe(1)
    expect(s.hours['2026-11-24']).toEqual(Object.assign(new Array(24).fill(0), { 10: 2, 11: 1 }))
    expect(s.days['2026-11']?.[23]).toBe(3)
    expect(frequencyCounts(s)).toEqual({
      minutes: { '2026-11-24T10:15': 2, '2026-11-24T11:00': 1 },
      hours: { '2026-11-24T10': 2, '2026-11-24T11': 1 },
      days: { '2026-11-24': 3 },
    })
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
  })

  it('keeps minute counts for the newest hour and the 24 before it, hour counts for the newest day and the 30 before it', () => {
    const s = stateOf([ev('2026-11-24T10:15:30Z'), ev('2026-10-20T08:00:00Z'), ev('2026-11-25T10:00:00Z')])
    expect(Object.keys(s.minutes)).toEqual(['2026-11-24T10', '2026-11-25T10'])
    expect(Object.keys(frequencyCounts(stateOf([ev('2026-11-24T10:59:00Z'), ev('2026-11-25T11:00:00Z')])).minutes)).toEqual(['2026-11-25T11:00'])
    expect(Object.keys(s.hours)).toEqual(['2026-11-24', '2026-11-25']) // 20 October is 36 days before
    expect(frequencyCounts(s).days).toEqual({ '2026-10-20': 1, '2026-11-24': 1, '2026-11-25': 1 })
  })

  it('counts an event older than a window only in the coarser buckets still kept', () => {
    const s = stateOf([ev('2026-11-25T10:00:00Z'), ev('2026-11-23T09:00:00Z'), ev('2026-10-01T09:00:00Z')])
    expect(frequencyCounts(s)).toEqual({
      minutes: { '2026-11-25T10:00': 1 },
      hours: { '2026-11-23T09': 1, '2026-11-25T10': 1 },
      days: { '2026-10-01': 1, '2026-11-23': 1, '2026-11-25': 1 },
    })
  })

  it('equals a brute-force count of random events in random time order, and does not depend on the order', () => {
    fc.assert(
      fc.property(times, fc.func(fc.integer()), (ts, rank) => {
        const events = ts.map(ev)
        const s = stateOf(events)
        expect(frequencyCounts(s)).toEqual(bruteForce(ts))
        expect(Object.keys(s.minutes).length).toBeLessThanOrEqual(25)
        expect(Object.keys(s.hours).length).toBeLessThanOrEqual(31)
        const shuffled = [...events].sort((a, b) => rank(a.offset) - rank(b.offset))
        expect(stateOf(shuffled)).toEqual(s) // a rebuild in another order would give the same state
      }),
      { numRuns: 300 },
    )
  })

  it('copies one array per level and the small maps of arrays, however many buckets are filled', () => {
    // Every minute of 25 hours, every hour of 31 days, every day of three years.
    const events = [
      ...Array.from({ length: 3 * 365 }, (_, i) => ev(T0 + i * DAY)),
      ...Array.from({ length: 31 * 24 }, (_, i) => ev(T0 + 3 * 365 * DAY - 31 * DAY + i * HOUR)),
      ...Array.from({ length: 25 * 60 }, (_, i) => ev(T0 + 3 * 365 * DAY - 25 * HOUR + i * MIN)),
    ]
    const full = stateOf(events)
    const counts = frequencyCounts(full)
    expect(Object.keys(counts.minutes).length).toBeGreaterThanOrEqual(1_440)
    expect(Object.keys(counts.hours).length).toBeGreaterThanOrEqual(720)
    // Walks the new state beside the old one and counts the slots of every object that is not shared.
    const copied = (next: EventFrequencyState, prev: EventFrequencyState) => {
      let slots = 0
      const level = (a: FrequencyChunks, b: FrequencyChunks) => {
        if (a === b) return
        slots += Object.keys(a).length
        for (const k in a) if (a[k] !== b[k]) slots += (a[k] as readonly number[]).length
      }
      level(next.minutes, prev.minutes)
      level(next.hours, prev.hours)
      level(next.days, prev.days)
      return slots
    }
    const months = Object.keys(full.days).length
    const bound = 25 + 60 + 31 + 24 + months + 31
    for (const at of [T0 + 3 * 365 * DAY - 2 * MIN, T0 + 3 * 365 * DAY - 90 * MIN, T0 + 3 * 365 * DAY - 5 * DAY]) {
      const next = eventFrequency.fold(full, ev(at))
      expect(copied(next, full)).toBeLessThanOrEqual(bound)
      const changed = (a: FrequencyChunks, b: FrequencyChunks) => Object.keys(a).filter((k) => a[k] !== b[k])
      expect(changed(next.minutes, full.minutes).length).toBeLessThanOrEqual(1)
      expect(changed(next.hours, full.hours)).toHaveLength(1)
      expect(changed(next.days, full.days)).toHaveLength(1)
    }
    // Version 1 copied a map of every minute, hour and day bucket on every event.
    expect(bound).toBeLessThan(Object.keys(counts.minutes).length / 5)
  })
})
