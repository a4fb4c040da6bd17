/**
 * Event-time windows, pure. A window is the half-open interval `[start, end)` in epoch
 * milliseconds of the events' timestamps. Time advances per key: a key's watermark is the largest
 * timestamp it has seen, and a window closes (its result is emitted, once) when the watermark
 * reaches `end + graceMs`. An event that only belongs to windows already closed is late: it is
 * counted in `late` and changes nothing else (docs/pipelines.md, "Windows").
 */

export type WindowSpec =
  | { readonly tumbling: { readonly sizeMs: number } }
  | { readonly sliding: { readonly sizeMs: number; readonly slideMs: number } }
  | { readonly session: { readonly gapMs: number } }

export interface Span {
  readonly start: number
  readonly end: number
}

/** An open window and its accumulator. */
export interface OpenWindow<A> extends Span {
  readonly acc: A
}

/** The windows of one key. */
export interface WindowState<A> {
  /** Largest event timestamp seen (ms); -Infinity is stored as null before the first event. */
  readonly watermark: number | null
  /** Open windows, by start then end. */
  readonly open: readonly OpenWindow<A>[]
  /** Events dropped because every window they belonged to had closed. */
  readonly late: number
}

export const emptyWindows = <A>(): WindowState<A> => ({ watermark: null, open: [], late: 0 })

/** The tumbling or sliding windows that contain `ts`, by start. Sessions are not fixed: see {@link stepWindows}. */
export const assignFixed = (spec: Exclude<WindowSpec, { session: unknown }>, ts: number): Span[] => {
  if ('tumbling' in spec) {
    const size = spec.tumbling.sizeMs
    const start = Math.floor(ts / size) * size
    return [{ start, end: start + size }]
  }
  const { sizeMs, slideMs } = spec.sliding
  const out: Span[] = []
  // Every start k·slide with start ≤ ts < start + size.
  for (let k = Math.floor((ts - sizeMs) / slideMs) + 1; k * slideMs <= ts; k++) {
    const start = k * slideMs
    if (ts < start + sizeMs) out.push({ start, end: start + sizeMs })
  }
  return out
}

export interface WindowStep<A> {
  readonly state: WindowState<A>
  /** Windows closed by this event, by end then start, with their final accumulator. */
  readonly closed: readonly OpenWindow<A>[]
}

const bySpan = (a: Span, b: Span): number => a.start - b.start || a.end - b.end

/**
 * Folds one event (timestamp `ts`) into a key's windows: adds it to every open window it belongs
 * to (opening those it starts, merging sessions it bridges), then closes every window whose
 * `end + graceMs` the new watermark reached. Total and pure.
 */
export const stepWindows = <A>(
  spec: WindowSpec,
  graceMs: number,
  state: WindowState<A>,
  ts: number,
  init: () => A,
  add: (acc: A) => A,
  merge: (a: A, b: A) => A,
): WindowStep<A> => {
  const wm = state.watermark ?? -Infinity
  const isClosed = (s: Span) => s.end + graceMs <= wm
  let open = state.open
  let late = state.late
  if ('session' in spec) {
    const gap = spec.session.gapMs
    const mine: Span = { start: ts, end: ts + gap }
    const overlapping = open.filter((w) => w.start < mine.end && mine.start < w.end)
    if (overlapping.length === 0 && isClosed(mine)) late++
    else {
      let acc = add(init())
      let start = mine.start
      let end = mine.end
      for (const w of overlapping) {
        acc = merge(w.acc, acc)
        start = Math.min(start, w.start)
        end = Math.max(end, w.end)
      }
      open = [...open.filter((w) => !overlapping.includes(w)), { start, end, acc }].sort(bySpan)
    }
  } else {
    const spans = assignFixed(spec, ts).filter((s) => !isClosed(s))
    if (spans.length === 0) late++
    else {
      const next = [...open]
      for (const s of spans) {
        const i = next.findIndex((w) => w.start === s.start && w.end === s.end)
        const w = next[i]
        if (w !== undefined) next[i] = { ...w, acc: add(w.acc) }
        else next.push({ ...s, acc: add(init()) })
      }
      open = next.sort(bySpan)
    }
  }
  const watermark = Math.max(wm, ts)
  const closed = open.filter((w) => w.end + graceMs <= watermark).sort((a, b) => a.end - b.end || a.start - b.start)
  if (closed.length > 0) open = open.filter((w) => w.end + graceMs > watermark)
  return { state: { watermark, open, late }, closed }
}
