import * as t from 'io-ts'

/**
 * Identifier codecs. Each is a branded string whose alphabet is safe as a NATS subject token
 * (and, for streams, as a KV key), so an id can never widen a subject filter. Values outside
 * the alphabet are rejected, never rewritten.
 */

const TENANT_RE = /^[A-Za-z0-9_-]{1,64}$/
const STREAM_RE = /^[A-Za-z0-9_=-]{1,200}$/
const EVENT_TYPE_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,199}$/
// Printable ASCII without space (0x21..0x7e).
const EVENT_ID_RE = /^[\x21-\x7e]{1,128}$/

interface TenantIdBrand {
  readonly TenantId: unique symbol
}
/** 1–64 chars of `A–Z a–z 0–9 _ -`. */
export const TenantId = t.brand(
  t.string,
  (s): s is t.Branded<string, TenantIdBrand> => TENANT_RE.test(s),
  'TenantId',
)
export type TenantId = t.TypeOf<typeof TenantId>

interface StreamIdBrand {
  readonly StreamId: unique symbol
}
/** 1–200 chars of `A–Z a–z 0–9 _ - =`; the category is the part before the first `-`. */
export const StreamId = t.brand(
  t.string,
  (s): s is t.Branded<string, StreamIdBrand> => STREAM_RE.test(s),
  'StreamId',
)
export type StreamId = t.TypeOf<typeof StreamId>

interface EventTypeBrand {
  readonly EventType: unique symbol
}
/** 1–200 chars: a letter, then letters, digits, `_ . : -`. */
export const EventType = t.brand(
  t.string,
  (s): s is t.Branded<string, EventTypeBrand> => EVENT_TYPE_RE.test(s),
  'EventType',
)
export type EventType = t.TypeOf<typeof EventType>

interface EventIdBrand {
  readonly EventId: unique symbol
}
/** 1–128 printable ASCII characters without spaces. Also the alphabet of commit ids. */
export const EventId = t.brand(
  t.string,
  (s): s is t.Branded<string, EventIdBrand> => EVENT_ID_RE.test(s),
  'EventId',
)
export type EventId = t.TypeOf<typeof EventId>

interface CommitIdBrand {
  readonly CommitId: unique symbol
}
/** Same alphabet as {@link EventId}; used as the JetStream `Nats-Msg-Id` of a commit. */
export const CommitId = t.brand(
  t.string,
  (s): s is t.Branded<string, CommitIdBrand> => EVENT_ID_RE.test(s),
  'CommitId',
)
export type CommitId = t.TypeOf<typeof CommitId>

interface VersionBrand {
  readonly Version: unique symbol
}
/** A stream version: 0 for an empty stream, then the 1-based gapless position of an event. */
export const Version = t.brand(
  t.number,
  (n): n is t.Branded<number, VersionBrand> => Number.isSafeInteger(n) && n >= 0,
  'Version',
)
export type Version = t.TypeOf<typeof Version>

/** The category of a stream: the part of its id before the first `-` (as in EventStoreDB). */
export const categoryOf = (stream: string): string => {
  const dash = stream.indexOf('-')
  return dash < 0 ? stream : stream.slice(0, dash)
}
