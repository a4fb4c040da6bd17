import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { isProjectionKey, isProjectionName } from '../projections/projection.js'
import { validateStream, validateTenant } from '../streams/appendRequest.js'
import { badRequest, type DomainError, invalidId } from '../streams/errors.js'
import { EventType, StreamId, TenantId } from '../streams/ids.js'

/**
 * The live streams' requests (DESIGN.md, "HTTP and WebSocket gateway"): what a client may ask for
 * in the path and query string of `/v1/tenants/{tenant}/events/live` and
 * `/v1/tenants/{tenant}/projections/{name}/live`. Pure: the gateway validates here before it
 * upgrades, so a bad request is answered 400 and never opens a consumer.
 */

/** A log offset as a query parameter: 0 or a positive safe integer, in decimal. */
const OFFSET_RE = /^(0|[1-9][0-9]{0,15})$/

/** `GET /v1/tenants/{tenant}/events/live?fromOffset&stream&type`. */
export const EventsLiveRequest = t.readonly(
  t.intersection([
    t.type({ tenant: TenantId }),
    t.partial({ fromOffset: t.number, stream: StreamId, type: EventType }),
  ]),
  'EventsLiveRequest',
)
export type EventsLiveRequest = t.TypeOf<typeof EventsLiveRequest>

/** `GET /v1/tenants/{tenant}/projections/{name}/live?fromOffset&key&prefix`. */
export const ProjectionLiveRequest = t.readonly(
  t.intersection([
    t.type({ tenant: TenantId, projection: t.string }),
    t.partial({ fromOffset: t.number, key: t.string, prefix: t.string }),
  ]),
  'ProjectionLiveRequest',
)
export type ProjectionLiveRequest = t.TypeOf<typeof ProjectionLiveRequest>

/**
 * Query parameters that carry a credential (a browser cannot set `Authorization` on a WebSocket).
 * They are accepted by every live route and never part of the request itself.
 */
export const credentialParams: readonly string[] = ['access_token', 'api_key']

type Query = Readonly<Record<string, unknown>>

/** The one value of parameter `name`: absent, a string, or a refusal (repeated, or not a string). */
const single = (q: Query, name: string): E.Either<DomainError, string | undefined> => {
  const v = q[name]
  if (v === undefined) return E.right(undefined)
  if (typeof v !== 'string') return E.left(badRequest(`query parameter ${name} must be given once`, { parameter: name }))
  return E.right(v)
}

const onlyKnown = (q: Query, allowed: readonly string[]): E.Either<DomainError, void> => {
  const unknown = Object.keys(q).filter((k) => !allowed.includes(k) && !credentialParams.includes(k))
  return unknown.length === 0
    ? E.right(undefined)
    : E.left(badRequest(`unknown query parameter ${JSON.stringify(unknown[0]?.slice(0, 64))}; allowed: ${allowed.join(', ')}`, { parameter: unknown[0]?.slice(0, 64), allowed }))
}

const offsetOf = (q: Query): E.Either<DomainError, number | undefined> => {
  const v = single(q, 'fromOffset')
  if (E.isLeft(v) || v.right === undefined) return v as E.Either<DomainError, undefined>
  const n = Number(v.right)
  return OFFSET_RE.test(v.right) && Number.isSafeInteger(n)
    ? E.right(n)
    : E.left(badRequest('fromOffset must be a whole number from 0 to 2^53 - 1 (0 and 1 both mean the start of the log)', { parameter: 'fromOffset' }))
}

/** Invalid input is a value (`INVALID_ID` for identifiers, `BAD_REQUEST` for anything else); never throws. */
export const validateEventsLive = (tenant: unknown, query: Query): E.Either<DomainError, EventsLiveRequest> => {
  const t0 = validateTenant(tenant)
  if (E.isLeft(t0)) return t0
  const known = onlyKnown(query, ['fromOffset', 'stream', 'type'])
  if (E.isLeft(known)) return known
  const fromOffset = offsetOf(query)
  if (E.isLeft(fromOffset)) return fromOffset
  const stream = single(query, 'stream')
  if (E.isLeft(stream)) return stream
  const s = stream.right === undefined ? E.right(undefined) : validateStream(stream.right)
  if (E.isLeft(s)) return s
  const type = single(query, 'type')
  if (E.isLeft(type)) return type
  if (type.right !== undefined && !EventType.is(type.right)) {
    return E.left(invalidId('type', 'type must start with a letter, then 1–199 of A–Z a–z 0–9 _ . : -'))
  }
  return E.right({
    tenant: t0.right,
    ...(fromOffset.right !== undefined ? { fromOffset: fromOffset.right } : {}),
    ...(s.right !== undefined ? { stream: s.right } : {}),
    ...(type.right !== undefined ? { type: type.right } : {}),
  })
}

/** A key prefix: what a key may start with (a trailing dot allowed: `order.` selects `order.*` keys). */
const isKeyPrefix = (p: string): boolean => p.length >= 1 && p.length <= 255 && /^[A-Za-z0-9_=.-]+$/.test(p) && !p.startsWith('.') && !p.includes('..')

/** As {@link validateEventsLive}; `key` and `prefix` exclude each other. Whether the projection exists is the caller's. */
export const validateProjectionLive = (tenant: unknown, projection: unknown, query: Query): E.Either<DomainError, ProjectionLiveRequest> => {
  const t0 = validateTenant(tenant)
  if (E.isLeft(t0)) return t0
  if (typeof projection !== 'string' || !isProjectionName(projection)) {
    return E.left(invalidId('projection', 'a projection name is 1–64 of A–Z a–z 0–9 _ -'))
  }
  const known = onlyKnown(query, ['fromOffset', 'key', 'prefix'])
  if (E.isLeft(known)) return known
  const fromOffset = offsetOf(query)
  if (E.isLeft(fromOffset)) return fromOffset
  const key = single(query, 'key')
  if (E.isLeft(key)) return key
  if (key.right !== undefined && !isProjectionKey(key.right)) return E.left(invalidId('key', 'a projection key is 1–255 of A–Z a–z 0–9 _ - = . (no leading, trailing or double dot)'))
  const prefix = single(query, 'prefix')
  if (E.isLeft(prefix)) return prefix
  if (prefix.right !== undefined && !isKeyPrefix(prefix.right)) return E.left(invalidId('prefix', 'a key prefix is 1–255 of A–Z a–z 0–9 _ - = . (no leading or double dot)'))
  if (key.right !== undefined && prefix.right !== undefined) return E.left(badRequest('give key or prefix, not both'))
  return E.right({
    tenant: t0.right,
    projection,
    ...(fromOffset.right !== undefined ? { fromOffset: fromOffset.right } : {}),
    ...(key.right !== undefined ? { key: key.right } : {}),
    ...(prefix.right !== undefined ? { prefix: prefix.right } : {}),
  })
}

/** Whether a change of `key` passes the request's key filter. */
export const keyMatches = (r: Pick<ProjectionLiveRequest, 'key' | 'prefix'>, key: string): boolean =>
  r.key !== undefined ? key === r.key : r.prefix !== undefined ? key.startsWith(r.prefix) : true
