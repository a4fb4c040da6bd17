import * as E from 'fp-ts/lib/Either.js'
import { CommitId, EventId, EventType, StreamId, TenantId } from './ids.js'
import { type ProposedEvent, Metadata } from './event.js'
import { ExpectedVersion } from './expectedVersion.js'
import { type DomainError, badRequest, invalidId, tooLarge } from './errors.js'

/** A validated append: what the stream actor serves. */
export interface AppendCommand {
  readonly tenant: TenantId
  readonly stream: StreamId
  readonly events: readonly ProposedEvent[]
  readonly expectedVersion: ExpectedVersion
  /** Client-chosen idempotency key; generated (UUIDv7) when absent. */
  readonly commitId?: CommitId
}

export interface AppendLimits {
  /** Most events one commit may hold. */
  readonly maxEventsPerCommit: number
}

export const defaultAppendLimits: AppendLimits = { maxEventsPerCommit: 1000 }

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

const describe = (u: unknown): string => {
  if (typeof u === 'string') return u.length > 40 ? `"${u.slice(0, 40)}…" (${u.length} chars)` : `"${u}"`
  return typeof u
}

/** Validates a tenant id taken from a subject or an argument. */
export const validateTenant = (u: unknown): E.Either<DomainError, TenantId> =>
  TenantId.is(u) ? E.right(u) : E.left(invalidId('tenant', `tenant must be 1–64 chars of A–Z a–z 0–9 _ -; got ${describe(u)}`))

/** Validates a stream id taken from a subject or an argument. */
export const validateStream = (u: unknown): E.Either<DomainError, StreamId> =>
  StreamId.is(u) ? E.right(u) : E.left(invalidId('stream', `stream must be 1–200 chars of A–Z a–z 0–9 _ - =; got ${describe(u)}`))

const validateEvent = (u: unknown, i: number): E.Either<DomainError, ProposedEvent> => {
  const at = `events[${i}]`
  if (!isRecord(u)) return E.left(badRequest(`${at} must be an object`))
  if (u.type === undefined) return E.left(badRequest(`${at}.type is required`))
  if (!EventType.is(u.type)) {
    return E.left(invalidId(`${at}.type`, `${at}.type must start with a letter, then 1–199 of A–Z a–z 0–9 _ . : -; got ${describe(u.type)}`))
  }
  if (u.payload === undefined || u.payload === null) {
    return E.left(badRequest(`${at}.payload must be present and not null`))
  }
  if (u.metadata !== undefined && !Metadata.is(u.metadata)) {
    return E.left(badRequest(`${at}.metadata must be an object`))
  }
  if (u.id !== undefined && !EventId.is(u.id)) {
    return E.left(invalidId(`${at}.id`, `${at}.id must be 1–128 printable ASCII characters without spaces; got ${describe(u.id)}`))
  }
  const event: ProposedEvent = { type: u.type, payload: u.payload }
  return E.right({
    ...event,
    ...(u.metadata !== undefined ? { metadata: u.metadata as Metadata } : {}),
    ...(u.id !== undefined ? { id: u.id as EventId } : {}),
  })
}

/**
 * Validates an append request body (already decoded from msgpack/JSON) for `tenant`/`stream`.
 * Returns the first problem found as a typed error; never throws. Unknown fields are ignored.
 */
export const validateAppendRequest = (
  tenant: unknown,
  stream: unknown,
  body: unknown,
  limits: AppendLimits = defaultAppendLimits,
): E.Either<DomainError, AppendCommand> => {
  const t = validateTenant(tenant)
  if (E.isLeft(t)) return t
  const s = validateStream(stream)
  if (E.isLeft(s)) return s
  if (!isRecord(body)) return E.left(badRequest('request body must be an object'))
  const { events, expectedVersion, commitId } = body
  if (events === undefined) return E.left(badRequest('events is required'))
  if (!Array.isArray(events)) return E.left(badRequest('events must be an array'))
  if (events.length === 0) return E.left(badRequest('events must not be empty'))
  if (events.length > limits.maxEventsPerCommit) {
    return E.left(tooLarge(events.length, limits.maxEventsPerCommit, 'events'))
  }
  const valid: ProposedEvent[] = []
  const ids = new Set<string>()
  for (let i = 0; i < events.length; i++) {
    const e = validateEvent(events[i], i)
    if (E.isLeft(e)) return e
    if (e.right.id !== undefined) {
      if (ids.has(e.right.id)) return E.left(badRequest(`events[${i}].id repeats an id of this commit`))
      ids.add(e.right.id)
    }
    valid.push(e.right)
  }
  const ev = expectedVersion === undefined ? 'any' : expectedVersion
  if (!ExpectedVersion.is(ev)) {
    return E.left(
      badRequest('expectedVersion must be a non-negative integer, "any", "no_stream" or "exists"', {
        expectedVersion: describe(ev),
      }),
    )
  }
  if (commitId !== undefined && !CommitId.is(commitId)) {
    return E.left(invalidId('commitId', `commitId must be 1–128 printable ASCII characters without spaces; got ${describe(commitId)}`))
  }
  return E.right({
    tenant: t.right,
    stream: s.right,
    events: valid,
    expectedVersion: ev,
    ...(commitId !== undefined ? { commitId } : {}),
  })
}
