import { unavailable } from '../../../application/streams/errors.js'
import { toWireError, type WireError } from './errorCodes.js'
import { OVERLOAD_RETRY_AFTER_MS } from './inFlightLimit.js'
import { encodeBody, type WireFormat } from './wireCodec.js'

/** An overload refusal, ready to send: its wire error, its body in one encoding, and the micro header text. */
export interface RefusalReply {
  readonly error: WireError
  /** `{ error }` encoded in the request's format. */
  readonly body: Uint8Array
  /** The `Nats-Service-Error` header value and the micro stats' `last_error`: `UNAVAILABLE: <message>`. */
  readonly lastError: string
}

/** The sentence of an overload refusal (UNAVAILABLE, `retryAfterMs` {@link OVERLOAD_RETRY_AFTER_MS}). */
export const refusalMessage = (inFlight: number, limit: number): string => `overloaded: ${inFlight} requests in flight (limit ${limit}); retry later`

/**
 * The refusals an endpoint answers past the in-flight limit, built once per distinct
 * `(format, inFlight, limit)` and reused while those stay the same. Under overload a processor
 * refuses tens of thousands of requests a second, nearly all with the same figures (`inFlight` is
 * at the limit), and building and encoding each reply anew (the error value, its msgpack or JSON
 * body, the header text) was a large part of a refusal's cost. The reply is the same bytes a
 * fresh build would give; only the request id header is per request (the caller adds it).
 */
export interface RefusalReplies {
  of(format: WireFormat, inFlight: number, limit: number): RefusalReply
}

export const createRefusalReplies = (): RefusalReplies => {
  const last: Record<WireFormat, { inFlight: number; limit: number; reply: RefusalReply } | undefined> = { msgpack: undefined, json: undefined }
  return {
    of(format, inFlight, limit) {
      const cached = last[format]
      if (cached !== undefined && cached.inFlight === inFlight && cached.limit === limit) return cached.reply
      const error = toWireError(unavailable(refusalMessage(inFlight, limit), { retryAfterMs: OVERLOAD_RETRY_AFTER_MS }))
      const reply: RefusalReply = { error, body: encodeBody(format, { error }), lastError: `${error.code}: ${error.message}` }
      last[format] = { inFlight, limit, reply }
      return reply
    },
  }
}
