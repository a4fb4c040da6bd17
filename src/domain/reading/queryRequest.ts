import * as E from 'fp-ts/lib/Either.js'
import { EventId, EventType, StreamId } from '../streams/ids.js'
import { badRequest, invalidId, type DomainError } from '../streams/errors.js'
import { defaultReadLimit, maxReadLimit } from './readRequest.js'
import type { Filter } from './filter.js'
import { parseWhere } from './where.js'

/** A validated query over one tenant's log. Every filter is optional; all given ones must match. */
export interface QueryRequest {
  readonly id?: EventId
  readonly stream?: StreamId
  readonly type?: EventType
  /** Inclusive bounds on event timestamps. */
  readonly since?: Date
  readonly until?: Date
  /** Start at this log offset (inclusive): where the previous page said to go on. */
  readonly fromOffset?: number
  readonly limit: number
  /** A filter on the events (docs/querying.md), in addition to the fields above. */
  readonly where?: Filter
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

const time = (u: unknown, field: string): E.Either<DomainError, Date | undefined> => {
  if (u === undefined || u === null) return E.right(undefined)
  const d = u instanceof Date ? u : typeof u === 'string' || typeof u === 'number' ? new Date(u) : undefined
  // Years 0000–9999 only: RFC 3339 (and JetStream's start time) has four-digit years.
  return d === undefined || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999
    ? E.left(badRequest(`${field} must be an ISO-8601 time (years 0000–9999), epoch milliseconds or a msgpack timestamp`, { [field]: String(u) }))
    : E.right(d)
}

/** Validates a query body; returns the first problem as a typed error, changes nothing. */
export const validateQueryRequest = (body: unknown): E.Either<DomainError, QueryRequest> => {
  const b: Record<string, unknown> = body === undefined || body === null ? {} : isRecord(body) ? body : { _notObject: true }
  if (b._notObject === true) return E.left(badRequest('request body must be an object'))
  if (b.id !== undefined && !EventId.is(b.id)) return E.left(invalidId('id', 'id must be 1–128 printable ASCII characters without spaces'))
  if (b.stream !== undefined && !StreamId.is(b.stream)) return E.left(invalidId('stream', 'stream must be 1–200 chars of A–Z a–z 0–9 _ - ='))
  if (b.type !== undefined && !EventType.is(b.type)) return E.left(invalidId('type', 'type must start with a letter, then A–Z a–z 0–9 _ . : -'))
  const since = time(b.since, 'since')
  if (E.isLeft(since)) return since
  const until = time(b.until, 'until')
  if (E.isLeft(until)) return until
  if (since.right !== undefined && until.right !== undefined && since.right > until.right) return E.left(badRequest('since is after until'))
  const limit = b.limit ?? defaultReadLimit
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > maxReadLimit) {
    return E.left(badRequest(`limit must be an integer from 1 to ${maxReadLimit}`, { limit }))
  }
  const fromOffset = b.fromOffset
  if (fromOffset !== undefined && (typeof fromOffset !== 'number' || !Number.isSafeInteger(fromOffset) || fromOffset < 1)) {
    return E.left(badRequest('fromOffset must be an integer >= 1', { fromOffset }))
  }
  const where = b.where === undefined || b.where === null ? undefined : parseWhere(b.where)
  if (where !== undefined && E.isLeft(where)) return where
  return E.right({
    limit,
    ...(where !== undefined ? { where: where.right } : {}),
    ...(b.id !== undefined ? { id: b.id as EventId } : {}),
    ...(b.stream !== undefined ? { stream: b.stream as StreamId } : {}),
    ...(b.type !== undefined ? { type: b.type as EventType } : {}),
    ...(since.right !== undefined ? { since: since.right } : {}),
    ...(until.right !== undefined ? { until: until.right } : {}),
    ...(fromOffset !== undefined ? { fromOffset: fromOffset as number } : {}),
  })
}

/**
 * The whole event filter of a query as one `Filter`: its `stream`, `type`, `id`, `since` and
 * `until` fields and its `where`, all of which must hold (undefined: every event matches).
 * `fromOffset` is a start, not a filter: paging passes it to the planner.
 */
export const queryFilter = (q: QueryRequest): Filter | undefined => {
  const all: Filter[] = [
    ...(q.stream !== undefined ? [{ eq: ['stream', q.stream] } as const] : []),
    ...(q.type !== undefined ? [{ eq: ['type', q.type] } as const] : []),
    ...(q.id !== undefined ? [{ eq: ['id', q.id] } as const] : []),
    ...(q.since !== undefined ? [{ gte: ['timestamp', q.since.toISOString()] } as const] : []),
    ...(q.until !== undefined ? [{ lte: ['timestamp', q.until.toISOString()] } as const] : []),
    ...(q.where !== undefined ? [q.where] : []),
  ]
  return all.length === 0 ? undefined : all.length === 1 ? all[0] : { and: all }
}
