import * as t from 'io-ts'
import { CommitId, EventId, EventType, StreamId, TenantId, Version } from './ids.js'

const isPresent = (u: unknown): u is unknown => u !== undefined && u !== null

/** Any JSON/msgpack value except `null` and `undefined`. */
export const Payload = new t.Type<unknown, unknown, unknown>(
  'Payload',
  isPresent,
  (u, c) => (isPresent(u) ? t.success(u) : t.failure(u, c, 'payload must be present and not null')),
  t.identity,
)

/** Free-form metadata attached to an event (correlation ids, user, …). */
export const Metadata = t.UnknownRecord
export type Metadata = t.TypeOf<typeof Metadata>

/** An event as a client proposes it; the stream actor assigns version, timestamp and id. */
export const ProposedEvent = t.intersection([
  t.type({ type: EventType, payload: Payload }),
  t.partial({ metadata: Metadata, id: EventId }),
])
export type ProposedEvent = t.TypeOf<typeof ProposedEvent>

/** An event as stored in the log. */
export interface RecordedEvent {
  readonly id: EventId
  readonly type: EventType
  readonly version: Version
  readonly timestamp: Date
  readonly payload: unknown
  readonly metadata?: Metadata
}

/**
 * One commit: 1..N events appended atomically to one stream, stored as one JetStream message.
 * Versions are consecutive; `commitId` is the message's `Nats-Msg-Id`.
 */
export interface Commit {
  readonly commitId: CommitId
  readonly tenant: TenantId
  readonly stream: StreamId
  readonly events: readonly RecordedEvent[]
}

/** First and last version of a (non-empty) commit. */
export const versionRange = (commit: Commit): { from: number; to: number } => ({
  from: commit.events[0]?.version ?? 0,
  to: commit.events[commit.events.length - 1]?.version ?? 0,
})
