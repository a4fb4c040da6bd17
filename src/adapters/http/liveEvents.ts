import type { ReplayedEvent } from '../nats/reading/replay.js'
import { isUnavailable } from '../nats/service/failureOf.js'
import { jsonReplacer } from '../nats/service/wireCodec.js'
import { CLOSE, type LiveSocket } from './liveSocket.js'

/**
 * A value as JSON the way the query reply writes it (`jsonReplacer`: dates as ISO-8601 UTC, big
 * integers as numbers when safe, else decimal strings). Without a replacer first: `Date.toJSON` is
 * already `toISOString`, so only a BigInt needs the (several times slower) replacer, and
 * `JSON.stringify` throws on one, so that throw is the test.
 */
export const toJson = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch {
    return JSON.stringify(value, jsonReplacer)
  }
}

/** One event as a live message: the query reply's event shape (`timestamp` an ISO-8601 UTC string). */
export const eventMessage = (e: ReplayedEvent): string =>
  toJson({
    tenant: e.tenant,
    stream: e.stream,
    offset: e.offset,
    id: e.id,
    type: e.type,
    version: e.version,
    timestamp: e.timestamp,
    payload: e.payload,
    ...(e.metadata !== undefined ? { metadata: e.metadata } : {}),
  })

/** How a live stream ends when its source fails: 1013 when retrying later can help, else 1011. Reasons never carry secrets. */
export const closeOnFailure = (sock: LiveSocket, e: unknown): void =>
  isUnavailable(e)
    ? sock.close(CLOSE.tryAgainLater, 'try again later: the log cannot be read now; resume from your last offset')
    : sock.close(CLOSE.internal, 'internal error; resume from your last offset')

/**
 * Sends `events` to `sock` until the connection ends. Guarantees:
 * - order: offset order, version order within a commit; nothing skipped or repeated;
 * - commits are never split by the server: it pauses (backpressure: it stops reading the log while
 *   the socket holds `lowWaterBytes` or more) and drops a slow client (close 1008, when the socket
 *   holds more than `maxBufferBytes`, or after the stall time) only between two commits, so after
 *   a close from the server `fromOffset = last offset + 1` resumes without loss or repeat;
 * - memory: at most one commit beyond the bound, plus the replay's one pull, per connection;
 * - the source is stopped (`return()`, its consumer deleted) whenever the stream ends.
 */
export const pumpEvents = async (sock: LiveSocket, events: AsyncIterator<ReplayedEvent>): Promise<void> => {
  let last = -1
  try {
    for (;;) {
      const r = await events.next()
      if (r.done === true) {
        sock.close(CLOSE.goingAway, 'the stream ended; resume from your last offset')
        return
      }
      const e = r.value
      if (e.offset !== last) {
        if (sock.overBound()) {
          sock.dropOverBound()
          return
        }
        if (!(await sock.ready())) return
      }
      last = e.offset
      sock.send(eventMessage(e))
    }
  } catch (e) {
    closeOnFailure(sock, e)
  } finally {
    await events.return?.()
  }
}
