import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assignFixed, emptyWindows, stepWindows, type WindowSpec, type WindowState } from '../../../src/domain/pipelines/windows.js'

type Fixed = Exclude<WindowSpec, { session: unknown }>
interface Result {
  readonly at: number
  readonly start: number
  readonly end: number
  readonly members: readonly number[]
}

/** Runs the incremental windows over events in arrival order; accumulators are the arrival indexes. */
const incremental = (spec: WindowSpec, grace: number, ts: readonly number[]) => {
  let state: WindowState<readonly number[]> = emptyWindows()
  const closed: Result[] = []
  ts.forEach((t, i) => {
    const step = stepWindows(spec, grace, state, t, () => [] as readonly number[], (acc) => [...acc, i], (a, b) => [...a, ...b].sort((x, y) => x - y))
    state = step.state
    for (const w of step.closed) closed.push({ at: i, start: w.start, end: w.end, members: [...w.acc].sort((x, y) => x - y) })
  })
  return { closed, open: state.open.map((w) => ({ start: w.start, end: w.end, members: [...w.acc].sort((x, y) => x - y) })), late: state.late }
}

/** Brute force for tumbling and sliding windows: every window any event falls in, judged one by one. */
const bruteFixed = (spec: Fixed, grace: number, ts: readonly number[]) => {
  const wmBefore = (i: number) => (i === 0 ? -Infinity : Math.max(...ts.slice(0, i)))
  const windows = new Map<string, { start: number; end: number; members: number[] }>()
  let late = 0
  ts.forEach((t, i) => {
    // Every window [s, s+size) with s on the grid and s ≤ t < s+size, found by scanning the grid.
    const size = 'tumbling' in spec ? spec.tumbling.sizeMs : spec.sliding.sizeMs
    const step = 'tumbling' in spec ? spec.tumbling.sizeMs : spec.sliding.slideMs
    let any = false
    for (let s = Math.floor((t - size) / step) * step - step; s <= t; s += step) {
      if (!(s <= t && t < s + size)) continue
      if (s + size + grace <= wmBefore(i)) continue
      any = true
      const k = `${s}`
      const w = windows.get(k) ?? { start: s, end: s + size, members: [] }
      w.members.push(i)
      windows.set(k, w)
    }
    if (!any) late++
  })
  const closed: Result[] = []
  const open: { start: number; end: number; members: number[] }[] = []
  for (const w of windows.values()) {
    const at = ts.findIndex((_, j) => Math.max(...ts.slice(0, j + 1)) >= w.end + grace)
    if (at === -1) open.push(w)
    else closed.push({ at, ...w })
  }
  closed.sort((a, b) => a.at - b.at || a.end - b.end || a.start - b.start)
  open.sort((a, b) => a.start - b.start || a.end - b.end)
  return { closed, open, late }
}

const times = fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 })

describe('windows', () => {
  it('tumbling: closes, contents and late events equal a brute force, in any arrival order', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 0, max: 3_000 }), (ts, size, grace) => {
        const spec: Fixed = { tumbling: { sizeMs: size } }
        expect(incremental(spec, grace, ts)).toEqual(bruteFixed(spec, grace, ts))
      }),
      { numRuns: 300 },
    )
  })

  it('sliding: closes, contents and late events equal a brute force, in any arrival order', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 3_000 }), (ts, slide, k, grace) => {
        const spec: Fixed = { sliding: { sizeMs: slide * k, slideMs: slide } }
        expect(incremental(spec, grace, ts)).toEqual(bruteFixed(spec, grace, ts))
      }),
      { numRuns: 300 },
    )
  })

  it('sliding: an event is in exactly size/slide windows, each containing it', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10 }), (t, slide, k) => {
        const spans = assignFixed({ sliding: { sizeMs: slide * k, slideMs: slide } }, t)
        expect(spans).toHaveLength(k)
        for (const s of spans) expect(s.start <= t && t < s.end).toBe(true)
      }),
    )
  })

  it('session, events in time order: sessions are the runs of events less than gap apart', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: 1, max: 1_000 }), (raw, gap) => {
        const ts = [...raw].sort((a, b) => a - b)
        const got = incremental({ session: { gapMs: gap } }, 0, ts)
        const runs: { start: number; end: number; members: number[] }[] = []
        ts.forEach((t, i) => {
          const last = runs.at(-1)
          if (last !== undefined && t < last.end) {
            last.members.push(i)
            last.end = t + gap
          } else runs.push({ start: t, end: t + gap, members: [i] })
        })
        expect([...got.closed.map(({ start, end, members }) => ({ start, end, members })), ...got.open]).toEqual(runs)
        expect(got.late).toBe(0)
        // Each run closes at the first event at least gap after its last event.
        for (const c of got.closed) expect(ts[c.at]).toBeGreaterThanOrEqual(c.end)
      }),
      { numRuns: 300 },
    )
  })

  it('session, any arrival order, never closing: sessions are the runs of the sorted times', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: 1, max: 1_000 }), (ts, gap) => {
        const got = incremental({ session: { gapMs: gap } }, 1_000_000, ts)
        const order = ts.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0])
        const runs: { start: number; end: number; members: number[] }[] = []
        for (const [t, i] of order) {
          const last = runs.at(-1)
          if (last !== undefined && t < last.end) {
            last.members.push(i)
            last.end = Math.max(last.end, t + gap)
          } else runs.push({ start: t, end: t + gap, members: [i] })
        }
        for (const r of runs) r.members.sort((a, b) => a - b)
        expect(got.closed).toEqual([])
        expect(got.open).toEqual(runs)
      }),
      { numRuns: 300 },
    )
  })

  it('session: a late event that bridges no open session is counted late, one that joins an open one is not', () => {
    const spec: WindowSpec = { session: { gapMs: 10 } }
    const got = incremental(spec, 0, [100, 200, 50, 195])
    expect(got.closed).toEqual([{ at: 1, start: 100, end: 110, members: [0] }])
    expect(got.late).toBe(1)
    expect(got.open).toEqual([{ start: 195, end: 210, members: [1, 3] }])
  })
})
