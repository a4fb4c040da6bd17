import { performance } from 'node:perf_hooks'
import type { NatsConnection } from '@nats-io/transport-node'

/** Default cap on requests in flight per processor (`ALLSOURCE_MAX_IN_FLIGHT`). */
export const DEFAULT_MAX_IN_FLIGHT = 5_000

/** Default work a processor lets queue, in time at its measured rate (`ALLSOURCE_MAX_QUEUE_MS`). */
export const DEFAULT_MAX_QUEUE_MS = 2_000

/** The adaptive limit never goes below this many requests in flight (a quiet or stalled processor still takes a burst). */
export const MIN_ADAPTIVE_IN_FLIGHT = 1_024

/**
 * A window in which the event loop was busy at least this fraction of the time counts as saturated
 * (see {@link InFlightLimit}).
 */
export const SATURATED_BUSY = 0.97

/** While the event loop is saturated the limit halves, but never below this many requests in flight. */
export const MIN_SATURATED_IN_FLIGHT = 128

/** What a refused request is told to wait before retrying (`retryAfterMs` of its UNAVAILABLE). */
export const OVERLOAD_RETRY_AFTER_MS = 100

/** How long the completion rate is counted over before it is folded into the estimate. */
const RATE_WINDOW_MS = 500

/**
 * A count of requests being served, with a limit. Every endpoint of a processor shares one, so
 * the total of requests held in memory (pending replies, actor mailboxes, publishes awaiting
 * their ack) is bounded however many streams are busy.
 *
 * The limit adapts to the rate requests complete at (Little's law): at most `maxQueueMs` of work
 * at that rate may be in flight (never fewer than {@link MIN_ADAPTIVE_IN_FLIGHT}, never more than
 * `max`; `max` until a first rate is measured). Under overload a request is either served within
 * about `maxQueueMs` or refused at once with UNAVAILABLE, instead of waiting in a queue longer
 * than its client's timeout: the client learns in milliseconds that it should back off, and
 * memory stays bounded by the limit.
 *
 * With `busy` (the processor passes its event loop utilisation), a second bound applies: a window
 * in which the event loop was busy {@link SATURATED_BUSY} of the time or more *and* a request was
 * refused halves a ceiling on the limit (from the most requests in flight in that window, never
 * below {@link MIN_SATURATED_IN_FLIGHT}); any other window raises the ceiling by a quarter, back
 * up to `max`. Offered more than the limit with the loop saturated means requests wait unread in
 * the connection's socket buffer: the processor cannot refuse them (or answer anything) until it
 * reads them, and the server cuts a connection whose buffer overflows. Admitting less leaves CPU
 * for reading and refusing: fewer commits complete, but every request is answered (OK or
 * UNAVAILABLE) instead of timing out. A processor merely busy with what it admitted (closed-loop
 * clients at capacity, nothing refused) keeps its limit, and a stalled one (a leader election:
 * nothing completes) is idle, not saturated: this never lowers their limits.
 */
export interface InFlightLimit {
  /** Takes a slot; false when the limit is reached (answer UNAVAILABLE). */
  tryAcquire(): boolean
  /** Gives back a slot taken by `tryAcquire` (counts a completion for the rate). */
  release(): void
  readonly inFlight: number
  /** The hard cap (`ALLSOURCE_MAX_IN_FLIGHT`). */
  readonly max: number
  /** The limit now: `maxQueueMs` of work at the measured completion rate, within [1024, max]. */
  readonly limit: number
  /** Requests completed per second, as last measured. */
  readonly ratePerSecond: number
  /** Requests refused so far because the limit was reached. */
  readonly refused: number
  /** When a request was last refused (`now()` clock, ms; undefined if never): a recent one means overloaded. */
  readonly lastRefusedAt: number | undefined
  /** The fraction of the last window the event loop was busy (undefined without `busy`). */
  readonly busy: number | undefined
}

export interface InFlightLimitOptions {
  /** Hard cap (default 5000). */
  readonly max?: number
  /** Work allowed in flight, in ms at the measured rate (default 2000); 0 turns the adaptive limit off. */
  readonly maxQueueMs?: number
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number
  /**
   * The fraction (0–1) of the time since its last call that the event loop was busy; called once a
   * window. Default: none (no saturation bound); {@link limitInFlight} passes {@link eventLoopBusy}.
   */
  readonly busy?: () => number
}

/** The event loop's utilisation since the previous call (`performance.eventLoopUtilization`), for {@link InFlightLimitOptions.busy}. */
export const eventLoopBusy = (): (() => number) => {
  let last = performance.eventLoopUtilization()
  return () => {
    const now = performance.eventLoopUtilization()
    const { utilization } = performance.eventLoopUtilization(now, last)
    last = now
    return utilization
  }
}

export const createInFlightLimit = (options: number | InFlightLimitOptions = {}): InFlightLimit => {
  const o: InFlightLimitOptions = typeof options === 'number' ? { max: options, maxQueueMs: 0 } : options
  const max = o.max ?? DEFAULT_MAX_IN_FLIGHT
  const maxQueueMs = o.maxQueueMs ?? DEFAULT_MAX_QUEUE_MS
  const now = o.now ?? (() => performance.now())
  if (!Number.isSafeInteger(max) || max < 1) throw new Error(`the in-flight cap must be an integer >= 1; got ${max}`)
  if (!Number.isSafeInteger(maxQueueMs) || maxQueueMs < 0) throw new Error(`the queue time must be an integer >= 0 ms; got ${maxQueueMs}`)
  let inFlight = 0
  let refused = 0
  let lastRefusedAt: number | undefined
  let windowStart = now()
  let completed = 0
  let rate = 0
  // Until a rate is measured the capacity is unknown: the hard cap holds.
  let limit = max
  // The saturation bound: halved in a window the event loop was saturated, raised by a quarter otherwise.
  let ceiling = max
  let peak = 0
  let refusedInWindow = 0
  let busy: number | undefined
  /** Folds the completions of every window that has ended into the rate, and sets the limit from it. */
  const roll = (t: number): void => {
    if (maxQueueMs === 0 || t - windowStart < RATE_WINDOW_MS) return
    const measured = (completed * 1_000) / (t - windowStart)
    // Up at once (capacity shows itself), down by halves (one slow window is not a trend).
    rate = measured >= rate ? measured : (rate + measured) / 2
    completed = 0
    windowStart = t
    busy = o.busy?.()
    if (busy !== undefined && busy >= SATURATED_BUSY && refusedInWindow > 0) ceiling = Math.max(MIN_SATURATED_IN_FLIGHT, Math.floor(Math.min(ceiling, peak) / 2))
    else if (ceiling < max) ceiling = Math.min(max, Math.ceil(ceiling * 1.25))
    peak = inFlight
    refusedInWindow = 0
    limit = Math.min(ceiling, max, Math.max(MIN_ADAPTIVE_IN_FLIGHT, Math.ceil((rate * maxQueueMs) / 1_000)))
  }
  return {
    tryAcquire() {
      roll(now())
      if (inFlight >= limit) {
        refused++
        refusedInWindow++
        lastRefusedAt = now()
        return false
      }
      if (++inFlight > peak) peak = inFlight
      return true
    },
    release() {
      if (inFlight > 0) inFlight--
      completed++
    },
    get inFlight() {
      return inFlight
    },
    max,
    get limit() {
      roll(now())
      return limit
    },
    get ratePerSecond() {
      return rate
    },
    get refused() {
      return refused
    },
    get lastRefusedAt() {
      return lastRefusedAt
    },
    get busy() {
      return busy
    },
  }
}

// A processor serves on one connection: the cap belongs to it, not to each endpoint.
const limits = new WeakMap<NatsConnection, InFlightLimit>()

/**
 * Sets the limit shared by every endpoint served on `nc` (call before serving); returns it. With
 * the adaptive limit on (`maxQueueMs` > 0), the event loop's utilisation bounds it too.
 */
export const limitInFlight = (nc: NatsConnection, max: number, maxQueueMs: number = DEFAULT_MAX_QUEUE_MS): InFlightLimit => {
  const limit = createInFlightLimit({ max, maxQueueMs, ...(maxQueueMs > 0 ? { busy: eventLoopBusy() } : {}) })
  limits.set(nc, limit)
  return limit
}

/** The limit shared by the endpoints on `nc`: the one set by {@link limitInFlight}, else the defaults. */
export const inFlightLimitOf = (nc: NatsConnection): InFlightLimit => {
  let limit = limits.get(nc)
  if (limit === undefined) limits.set(nc, (limit = createInFlightLimit({})))
  return limit
}

/**
 * Whether the processor refused a request for overload in the last `withinMs` (default 1 s), with
 * a sentence saying so (for `/ready` and logs).
 */
export const overloadOf = (limit: Pick<InFlightLimit, 'lastRefusedAt' | 'inFlight' | 'limit' | 'ratePerSecond'> & { readonly busy?: number | undefined }, now: number = performance.now(), withinMs = 1_000): string | undefined =>
  limit.lastRefusedAt !== undefined && now - limit.lastRefusedAt <= withinMs
    ? `overloaded: refusing requests (${limit.inFlight} in flight, limit ${limit.limit} at ${Math.round(limit.ratePerSecond)} completed/s${limit.busy !== undefined ? `, event loop ${Math.round(limit.busy * 100)}% busy` : ''})`
    : undefined
