import type { Msg, MsgHdrs } from '@nats-io/transport-node'
import { headers } from '@nats-io/transport-node'
import { mediaTypeOf } from '../../codec/jsonSniff.js'
import { decodeMsgpack, encodeMsgpack } from '../../codec/msgpack.js'
import { scanNesting } from '../../codec/nestingScan.js'
import { statusOf, type WireError } from './errorCodes.js'
import { WireHeaders } from '../log/wireHeaders.js'

/** How a request body was encoded; the reply uses the same. */
export type WireFormat = 'msgpack' | 'json'

const JSON_TYPE = 'application/json'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * `Content-Type: application/msgpack`, shared (never changed) by messages that are always msgpack,
 * e.g. projection topics. A {@link WireHeaders}, so its wire bytes are formatted once rather than
 * on every publish (nats.js's own header set rebuilds them each time: a topic update per change
 * per projection paid for that).
 */
export const MSGPACK_HEADERS: MsgHdrs = WireHeaders.of(['Content-Type', 'application/msgpack'])

/**
 * A request's format: JSON when `Content-Type` names it, or when there is no `Content-Type` and
 * the body starts with `{` (see `codec/jsonSniff.ts`); msgpack otherwise.
 */
export const formatOf = (msg: Msg): WireFormat => {
  const contentType = msg.headers?.get('Content-Type')
  return mediaTypeOf(contentType === '' ? undefined : contentType, msg.data)
}

/**
 * JSON has no dates and no 64-bit integers. Dates go out as ISO-8601 UTC strings; a big integer
 * (a msgpack int64/uint64, decoded as a BigInt) goes out as a number when it is a safe integer
 * (|n| <= 2^53 - 1) and as its decimal string otherwise, so no digit is ever lost.
 */
export const jsonReplacer = function (this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  if (raw instanceof Date) return raw.toISOString()
  if (typeof value === 'bigint') return bigintToJson(value)
  return value
}

/** A BigInt as JSON can carry it: a number when safe, else its decimal string. */
export const bigintToJson = (n: bigint): number | string => {
  const asNumber = Number(n)
  return Number.isSafeInteger(asNumber) ? asNumber : n.toString()
}

export const encodeBody = (format: WireFormat, body: unknown): Uint8Array =>
  format === 'json' ? encoder.encode(JSON.stringify(body, jsonReplacer)) : encodeMsgpack(body)

/** Decodes a request body; `Left`-like result with a message for malformed input, never throws. */
export const decodeBody = (
  format: WireFormat,
  data: Uint8Array,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string } => {
  if (data.length === 0) return { ok: false, message: 'request body is empty' }
  // Before anything recursive touches the body: a deeply nested one would overflow the stack.
  const scan = scanNesting(format, data)
  if (!scan.ok) return scan
  try {
    return { ok: true, value: format === 'json' ? JSON.parse(decoder.decode(data)) : decodeMsgpack(data) }
  } catch (e) {
    return { ok: false, message: `malformed ${format === 'json' ? 'JSON' : 'msgpack'} body: ${e instanceof Error ? e.message : String(e)}` }
  }
}

/** The header that carries a request's id, on requests (optional), replies and commits (docs/observability.md). */
export const REQUEST_ID_HEADER = 'AllSource-Request-Id'

const replyHeaders = (format: WireFormat, requestId: string | undefined): WireHeaders | undefined => {
  if (format !== 'json' && requestId === undefined) return undefined
  const h = new WireHeaders()
  if (format === 'json') h.append('Content-Type', JSON_TYPE)
  if (requestId !== undefined) h.append(REQUEST_ID_HEADER, requestId)
  return h
}

/** A success body with reply headers of its own (e.g. `AllSource-Policy-Warning`): a handler answers it instead of the bare body. */
export class ReplyWithHeaders {
  constructor(
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>>,
  ) {}
}

/**
 * Replies with a success body in the request's encoding, with the request's id as a header when
 * given (and its own headers, for a {@link ReplyWithHeaders}).
 */
export const replyOk = (msg: Msg, format: WireFormat, body: unknown, requestId?: string): void => {
  if (body instanceof ReplyWithHeaders) {
    const h = replyHeaders(format, requestId) ?? new WireHeaders()
    for (const [k, v] of Object.entries(body.headers)) h.set(k, v)
    msg.respond(encodeBody(format, body.body), { headers: h })
    return
  }
  const h = replyHeaders(format, requestId)
  msg.respond(encodeBody(format, body), h === undefined ? undefined : { headers: h })
}

/** Replies with `{ error }` and the NATS micro error headers (and the request's id when given). */
export const replyError = (msg: Msg, format: WireFormat, error: WireError, requestId?: string): void =>
  replyEncodedError(msg, format, error, encodeBody(format, { error }), requestId)

/**
 * {@link replyError} with the body already encoded (`{ error }` in `format`): a reply built once
 * and sent many times (overload refusals, `refusalReply.ts`).
 */
export const replyEncodedError = (msg: Msg, format: WireFormat, error: WireError, body: Uint8Array, requestId?: string): void => {
  const h = replyHeaders(format, requestId) ?? new WireHeaders()
  h.append('Nats-Service-Error-Code', String(statusOf[error.code]))
  h.append('Nats-Service-Error', error.message.replace(/[\r\n]+/g, ' '))
  msg.respond(body, { headers: h })
}
