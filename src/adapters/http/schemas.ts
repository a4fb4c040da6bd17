import * as t from 'io-ts'
import type { AppendResult } from '../../application/streams/appendResult.js'
import { Payload, ProposedEvent } from '../../domain/streams/event.js'
import { ExpectedVersion } from '../../domain/streams/expectedVersion.js'
import { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../domain/streams/ids.js'
import { ApiKeyId, ApiKeyView, CreateKeyRequest } from '../../domain/security/apiKey.js'
import { UserView } from '../../domain/security/user.js'
import { IsoTimestamp, Tenant } from '../../domain/tenants/tenant.js'
import { annotate } from './jsonSchema.js'

/**
 * The gateway's request and reply codecs. Requests are decoded with these (a wrong type is
 * `BAD_REQUEST` with its path, a malformed id `INVALID_ID`), replies are documented with them, and
 * the OpenAPI document is generated from both (`jsonSchema.ts`). Domain codecs are reused as they
 * are; only HTTP's own shapes (query strings, compatibility bodies) are defined here.
 */

// The id codecs' alphabets, for the generated schemas (the codecs themselves decide).
annotate(TenantId, { pattern: '^[A-Za-z0-9_-]{1,64}$' })
annotate(StreamId, { pattern: '^[A-Za-z0-9_=-]{1,200}$' })
annotate(EventType, { pattern: '^[A-Za-z][A-Za-z0-9_.:-]{0,199}$' })
annotate(EventId, { pattern: '^[\\x21-\\x7e]{1,128}$' })
annotate(CommitId, { pattern: '^[\\x21-\\x7e]{1,128}$' })
annotate(Version, { type: 'integer', minimum: 0 })
annotate(Payload, { description: 'any JSON value but null' })

/** A non-negative integer in a query string (`?limit=10`); numbers pass as they are. */
export const IntFromString = annotate(
  new t.Type<number, string, unknown>(
    'IntFromString',
    (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
    (u, c) => {
      const n = typeof u === 'string' && /^[0-9]{1,16}$/.test(u) ? Number(u) : typeof u === 'number' ? u : Number.NaN
      return Number.isSafeInteger(n) && n >= 0 ? t.success(n) : t.failure(u, c, 'must be a non-negative integer')
    },
    String,
  ),
  { type: 'integer', minimum: 0 },
)

/** `POST /v1/tenants/{tenant}/streams/{stream}`: the NATS append body. */
export const AppendBody = t.intersection([t.type({ events: t.array(ProposedEvent) }), t.partial({ expectedVersion: ExpectedVersion, commitId: CommitId })], 'AppendBody')

export const AppendReply = t.intersection(
  [
    t.type({ tenant: TenantId, stream: StreamId, offset: t.number, fromVersion: t.number, toVersion: t.number, eventIds: t.readonlyArray(t.string) }),
    t.partial({ duplicate: t.boolean }),
  ],
  'AppendReply',
)
// The reply codec and the application's type must not drift apart.
export const appendReplyOf = (r: AppendResult): t.TypeOf<typeof AppendReply> => r

const IsoTime = annotate(new t.StringType(), { format: 'date-time' })

/** An event as read back over HTTP (JSON: the timestamp as an ISO-8601 UTC string). */
export const EventReply = t.intersection(
  [t.type({ id: EventId, type: EventType, version: t.number, timestamp: IsoTime, payload: t.unknown, offset: t.number }), t.partial({ metadata: t.UnknownRecord })],
  'Event',
)

export const QueriedEvent = t.intersection([EventReply, t.type({ tenant: TenantId, stream: StreamId })], 'QueriedEvent')

export const ReadQuery = t.partial({ fromVersion: IntFromString, limit: IntFromString }, 'ReadQuery')
export const ReadReply = t.intersection([t.type({ events: t.array(EventReply), version: t.number }), t.partial({ nextVersion: t.number })], 'ReadReply')

/** `GET /v1/tenants/{tenant}/events`: the query fields; `where` is JSON text (or the text form). */
export const QueryQuery = t.partial(
  { id: EventId, stream: StreamId, type: EventType, since: IsoTime, until: IsoTime, fromOffset: IntFromString, limit: IntFromString, where: t.string },
  'QueryQuery',
)
export const QueryReply = t.intersection([t.type({ events: t.array(QueriedEvent) }), t.partial({ nextOffset: t.number })], 'QueryReply')

export const ProjectionQuery = t.partial({ minOffset: IntFromString, timeoutMs: IntFromString }, 'ProjectionQuery')
export const ProjectionEntryReply = t.type({ key: t.string, state: t.unknown, offset: t.number }, 'ProjectionEntry')
export const ProjectionStatusReply = t.UnknownRecord
export const StreamListQuery = t.partial({ prefix: t.string, after: t.string, limit: IntFromString }, 'StreamListQuery')
export const StreamListReply = t.intersection([t.type({ streams: t.array(t.type({ stream: t.string, commits: t.number })) }), t.partial({ next: t.string })], 'StreamList')
export const ProjectionCommandBody = t.partial({ fromOffset: t.number }, 'ProjectionCommand')
export const ProjectionCommandReply = t.UnknownRecord
export const ProjectionsReply = t.type({ projections: t.array(t.UnknownRecord) }, 'Projections')

export const SubscriptionStart = t.union([t.literal('start'), t.literal('end'), IntFromString, IsoTime], 'SubscriptionStart')
export const SubscriptionCreate = t.intersection([t.type({ name: t.string }), t.partial({ stream: StreamId, from: SubscriptionStart })], 'SubscriptionCreate')
export const SubscriptionReset = t.type({ to: SubscriptionStart }, 'SubscriptionReset')
export const SubscriptionPositionReply = t.intersection(
  [t.type({ name: t.string, tenant: TenantId, acknowledged: t.number, lag: t.number }), t.partial({ stream: StreamId })],
  'SubscriptionPosition',
)

export const DlqQuery = t.partial({ limit: IntFromString }, 'DlqQuery')
export const DeadLetterReply = t.type(
  { id: t.number, subject: t.string, ingestSubject: t.string, code: t.string, error: t.string, attempts: t.number, at: IsoTime, data: annotate(new t.StringType(), { contentEncoding: 'base64' }) },
  'DeadLetter',
)
export const DlqReply = t.type({ deadLetters: t.array(DeadLetterReply) }, 'DeadLetters')
export const RedriveBody = t.partial({ contentType: t.string }, 'RedriveBody')
export const RedriveReply = t.type({ ingestSubject: t.string, ingestSequence: t.number }, 'Redriven')

/** Admin bodies are validated by the domain's closed-body validators (unknown fields refused); documented by the domain codecs where there are some. */
export const AdminBody = t.UnknownRecord
export const AdminReply = t.UnknownRecord
export const TenantReply = Tenant
export const TenantListReply = t.intersection([t.type({ tenants: t.array(Tenant) }), t.partial({ next: TenantId })], 'TenantList')
export const KeyCreateBody = CreateKeyRequest
export const KeyCreatedReply = t.type({ keyId: ApiKeyId, key: annotate(new t.StringType(), { description: 'the API key: shown in this reply only' }) }, 'KeyCreated')
export const KeyListReply = t.type({ keys: t.array(ApiKeyView) }, 'KeyList')
export const KeyRevokedReply = t.type({ keyId: ApiKeyId, revokedAt: IsoTimestamp }, 'KeyRevoked')
export const UserReply = UserView
export const UserListReply = t.type({ users: t.array(UserView) }, 'UserList')
export const TenantListQuery = t.partial({ after: TenantId, limit: IntFromString, includeDeleted: t.keyof({ true: null, false: null }) }, 'TenantListQuery')
export const UserListQuery = t.partial({ includeDeleted: t.keyof({ true: null, false: null }) }, 'UserListQuery')
export const AuditQueryString = t.partial({ since: IsoTime, until: IsoTime, action: t.string, user: t.string, limit: IntFromString, after: t.string }, 'AuditQuery')
export const LoginBody = t.type({ tenant: TenantId, username: t.string, password: t.string }, 'LoginBody')
export const RefreshBody = t.type({ tenant: TenantId, username: t.string, refreshToken: t.string }, 'RefreshBody')
/** `POST /v1/auth/accept-invite`: the invited user's name, the invitation token and the password it chooses. */
export const AcceptInviteBody = t.type({ tenant: TenantId, username: t.string, inviteToken: t.string, password: t.string }, 'AcceptInviteBody')
/** `POST /v1/auth/logout`: `{ refreshToken }` ends that session, `{ all: true }` every session of the user. */
export const LogoutBody = t.union([t.type({ refreshToken: t.string }), t.type({ all: t.literal(true) })], 'LogoutBody')
/** `GET /v1/auth/me`: the caller's tenant, role and subject (a user's record without its hash, or the key). */
export const MeReply = t.intersection([t.type({ tenant: TenantId, role: t.string, subject: t.UnknownRecord }), t.partial({ user: t.UnknownRecord })], 'Me')
/** `POST /v1/auth/logout`: what was ended. */
export const LogoutReply = t.type({ revoked: t.keyof({ session: null, all: null }) }, 'LoggedOut')
/** `POST /v1/auth/accept-invite`: the user, as the users list shows it (no hash). */
export const AcceptedUserReply = t.UnknownRecord
/** `POST /v1/admin/signing-keys/rotate`: key ids only, never key material. */
export const RotatedReply = t.type({ active: t.string, retired: t.array(t.type({ kid: t.string, verifyUntil: t.string })) }, 'Rotated')
export const TokensReply = t.intersection([t.type({ accessToken: t.string, expiresAt: IsoTime }), t.partial({ refreshToken: t.string, refreshExpiresAt: IsoTime })], 'Tokens')

/** The original AllSource core API (snake_case), `POST /api/v1/events`. */
export const CompatEventBody = t.intersection(
  [t.type({ event_type: EventType, entity_id: StreamId, payload: Payload }), t.partial({ metadata: t.UnknownRecord, tenant_id: TenantId })],
  'CompatEvent',
)
export const CompatEventReply = t.type({ event_id: t.string, timestamp: IsoTime }, 'CompatEventReply')
export const CompatQuery = t.partial(
  { entity_id: StreamId, event_type: EventType, since: IsoTime, until: IsoTime, limit: IntFromString, tenant_id: TenantId },
  'CompatQuery',
)
export const CompatQueryReply = t.type(
  {
    events: t.array(t.intersection([t.type({ id: t.string, event_type: t.string, entity_id: t.string, payload: t.unknown, timestamp: IsoTime, version: t.number }), t.partial({ metadata: t.UnknownRecord, tenant_id: t.string })])),
    count: t.number,
  },
  'CompatQueryReply',
)
export const CompatStateQuery = t.partial({ as_of: IsoTime, tenant_id: TenantId }, 'CompatStateQuery')
export const CompatStateReply = t.type({ entity_id: t.string, current_state: t.UnknownRecord, version: t.number, as_of: t.union([IsoTime, t.null]) }, 'CompatState')

/** RFC 9457 problem details, as every error is answered. */
export const ProblemReply = t.intersection(
  [t.type({ type: t.string, title: t.string, status: t.number, detail: t.string, code: t.string }), t.partial({ instance: t.string })],
  'Problem',
)
