import type { NatsConnection } from '@nats-io/transport-node'

/** Default cap on requests in flight per processor (`ALLSOURCE_MAX_IN_FLIGHT`). */
export const DEFAULT_MAX_IN_FLIGHT = 5_000

/** What a refused request is told to wait before retrying (`retryAfterMs` of its UNAVAILABLE). */
export const OVERLOAD_RETRY_AFTER_MS = 100

/**
 * A count of requests being served, with a cap. Every endpoint of a processor shares one, so
 * the total of requests held in memory (pending replies, actor mailboxes, publishes awaiting
 * their ack) is bounded however many streams are busy.
 */
export interface InFlightLimit {
  /** Takes a slot; false when `max` requests are already in flight (answer UNAVAILABLE). */
  tryAcquire(): boolean
  /** Gives back a slot taken by `tryAcquire`. */
  release(): void
  readonly inFlight: number
  readonly max: number
  /** Requests refused so far because the cap was reached. */
  readonly refused: number
}

export const createInFlightLimit = (max: number = DEFAULT_MAX_IN_FLIGHT): InFlightLimit => {
  if (!Number.isSafeInteger(max) || max < 1) throw new Error(`the in-flight cap must be an integer >= 1; got ${max}`)
  let inFlight = 0
  let refused = 0
  return {
    tryAcquire() {
      if (inFlight >= max) {
        refused++
        return false
      }
      inFlight++
      return true
    },
    release() {
      if (inFlight > 0) inFlight--
    },
    get inFlight() {
      return inFlight
    },
    max,
    get refused() {
      return refused
    },
  }
}

// A processor serves on one connection: the cap belongs to it, not to each endpoint.
const limits = new WeakMap<NatsConnection, InFlightLimit>()

/**
 * Sets the cap shared by every endpoint served on `nc` (call before serving); returns the limit.
 */
export const limitInFlight = (nc: NatsConnection, max: number): InFlightLimit => {
  const limit = createInFlightLimit(max)
  limits.set(nc, limit)
  return limit
}

/** The cap shared by the endpoints on `nc`: the one set by {@link limitInFlight}, else the default. */
export const inFlightLimitOf = (nc: NatsConnection): InFlightLimit => {
  let limit = limits.get(nc)
  if (limit === undefined) limits.set(nc, (limit = createInFlightLimit()))
  return limit
}
