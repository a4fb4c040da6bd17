import { type AppendError, internal, type Unavailable } from '../../../application/streams/errors.js'
import { ConsumerUnavailable } from '../reading/logConsumer.js'

/** How long a client should wait before retrying after the infrastructure failed. */
export const RETRY_AFTER_MS = 1_000

/** nats.js errors that mean "NATS or JetStream cannot serve this now", by class name (robust to duplicate package copies). */
const TRANSIENT = new Set([
  'TimeoutError',
  'NoRespondersError',
  'NoResponders', // the name nats.js gives NoRespondersError
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'RequestError',
  'JetStreamNotEnabled',
  'JetStreamStatusError',
  'JetStreamError',
])

/** JetStream API errors that are about capacity or availability, not about the request. */
const TRANSIENT_API_CODES = new Set([
  10026, // maximum consumers limit reached
  10023, // insufficient resources
  10008, // JetStream system temporarily unavailable
  10039, // JetStream not enabled for the account
  10076, // JetStream not enabled
])

/** True when `e` is an infrastructure failure: NATS down or cut, a timeout, no responders, a consumer limit. */
export const isUnavailable = (e: unknown): boolean => {
  if (!(e instanceof Error)) return false
  if (e instanceof ConsumerUnavailable) return true
  if (e.name === 'JetStreamApiError' || e.name === 'StreamNotFoundError' || e.name === 'ConsumerNotFoundError') {
    const { code, status } = e as Error & { readonly code?: number; readonly status?: number }
    return (code !== undefined && TRANSIENT_API_CODES.has(code)) || status === 503
  }
  if (TRANSIENT.has(e.name)) return true
  return e.cause !== undefined && isUnavailable(e.cause)
}

/**
 * The one classifier for a failure thrown while serving a request: an infrastructure failure is
 * `UNAVAILABLE` (503, with `retryAfterMs`: retrying is safe), anything else is a defect, `INTERNAL` (500).
 */
export const failureOf = (e: unknown): AppendError => (isUnavailable(e) ? unavailableOf(e) : internal(e instanceof Error ? e.message : String(e)))

/** `e` as an `Unavailable` value with `retryAfterMs` (for an `e` that {@link isUnavailable}). */
export const unavailableOf = (e: unknown): Unavailable => ({
  _tag: 'Unavailable',
  message: `the event store cannot serve this now: ${e instanceof Error ? e.message : String(e)}`,
  details: { retryAfterMs: e instanceof ConsumerUnavailable ? e.retryAfterMs : RETRY_AFTER_MS },
})
