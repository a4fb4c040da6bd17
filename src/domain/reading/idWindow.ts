/**
 * Where in the log an event with a UUIDv7 id can be, from the id's own timestamp.
 *
 * Generated event ids are UUIDv7 minted by the processor while it prepares the commit (the same
 * moment it stamps the events), so the commit is stored by JetStream shortly after the id's
 * millisecond, by the server's clock. The window below is where a lookup searches by store time;
 * an event stored outside it (a client-supplied id, a v7 id minted long before, a processor whose
 * clock is more than a second ahead of the server's) is written to the supplied-id index instead,
 * by the same rule ({@link findableByTime}), so the window's size is a matter of speed, never of
 * correctness. See docs/reading.md, "Lookup by event id".
 */
export interface IdWindow {
  /** How far before the id's millisecond the commit may be stored (server clock behind the processor's). */
  readonly beforeMs: number
  /** How far after the id's millisecond the commit may be stored (publish latency, retries, server clock ahead). */
  readonly afterMs: number
  /**
   * The first ring: the first pass reads from the id's millisecond to `nearMs` after it, the
   * second the `nearMs` before it. With clocks in step the commit is stored at or just after the
   * id's millisecond (it is minted before it is published), so the first pass finds it after the
   * commits that were in flight with it, and nothing stored before the id is read.
   */
  readonly nearMs: number
  /** The second ring after the id: the third pass reads on to `nearAfterMs` after it (slow publishes). */
  readonly nearAfterMs: number
}

export const defaultIdWindow: IdWindow = { beforeMs: 1_000, afterMs: 2_000, nearMs: 20, nearAfterMs: 500 }

const UUIDV7 = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/

/** The Unix milliseconds of a UUIDv7 (RFC 9562: its first 48 bits), or undefined for any other id. */
export const uuidv7Millis = (id: string): number | undefined =>
  UUIDV7.test(id) ? parseInt(id.slice(0, 8), 16) * 0x10000 + parseInt(id.slice(9, 13), 16) : undefined

/**
 * Whether a lookup by time finds an event with this id stored at `storeMs` (the server's store
 * time, whole milliseconds). One millisecond inside the window on each side, so that rounding of
 * the store time between the server's nanoseconds and ours never makes an event unfindable.
 */
export const findableByTime = (id: string, storeMs: number, w: IdWindow = defaultIdWindow): boolean => {
  const ms = uuidv7Millis(id)
  return ms !== undefined && storeMs >= ms - w.beforeMs + 1 && storeMs <= ms + w.afterMs - 1
}

/** One pass of a lookup: from a store time (inclusive) until the store time passes `untilMs`. */
export interface IdScanPass {
  readonly fromMs: number
  /** The pass stops at the first commit stored after this millisecond. */
  readonly untilMs: number
  /** Whether it is one of the two near passes (`nearMs` around the id), where the hit usually is. */
  readonly near: boolean
}

/**
 * The passes that cover the window of a UUIDv7 id, in the order to run them (stop at the first
 * hit), in rings growing outwards from the id's millisecond `ms`, after before before:
 *
 * 1. `[ms, ms + nearMs]`: the commit of a processor whose clock is in step with the server's;
 * 2. `[ms - nearMs, ms - 1]`: a server clock up to `nearMs` behind the processor's;
 * 3. `(ms + nearMs, ms + nearAfterMs]`: a slow publish;
 * 4. `[ms - beforeMs, ms - nearMs)`: a server clock further behind;
 * 5. `(ms + nearAfterMs, ms + afterMs]`: the slowest publishes.
 *
 * Each clamped to the window, empty ones left out. Together they cover `[ms - beforeMs, ms +
 * afterMs]`, each store time once. Empty for an id that is not a UUIDv7.
 */
export const planIdScan = (id: string, w: IdWindow = defaultIdWindow): readonly IdScanPass[] => {
  const ms = uuidv7Millis(id)
  if (ms === undefined) return []
  const a1 = Math.min(w.nearMs, w.afterMs)
  const a2 = Math.min(Math.max(w.nearAfterMs, a1), w.afterMs)
  const b1 = Math.min(w.nearMs, w.beforeMs)
  const passes: IdScanPass[] = [
    { fromMs: ms, untilMs: ms + a1, near: true },
    { fromMs: ms - b1, untilMs: ms - 1, near: true },
    { fromMs: ms + a1 + 1, untilMs: ms + a2, near: false },
    { fromMs: ms - w.beforeMs, untilMs: ms - b1 - 1, near: false },
    { fromMs: ms + a2 + 1, untilMs: ms + w.afterMs, near: false },
  ]
  return passes.filter((p) => p.fromMs <= p.untilMs)
}
