import type { Commit } from '../../domain/streams/event.js'
import type { CommitId, EventId, StreamId, TenantId } from '../../domain/streams/ids.js'
import type { RequestContext } from '../observability/ports.js'

/** Where a stream stands in the log. */
export interface StreamHead {
  /** Version of the stream's last event; 0 when the stream is empty. */
  readonly version: number
  /** Log offset (JetStream sequence) of the stream's last commit; 0 when empty. */
  readonly lastOffset: number
}

export const emptyHead: StreamHead = { version: 0, lastOffset: 0 }

/** A commit as stored, with its offset in the log. */
export interface StoredCommit {
  readonly offset: number
  readonly commit: Commit
}

/** What {@link EventLog.append} did. Every outcome but `Appended` wrote nothing. */
export type AppendOutcome =
  | { readonly _tag: 'Appended'; readonly offset: number }
  /** The commitId was already in the log (inside the duplicate window): here is that commit. */
  | { readonly _tag: 'Duplicate'; readonly original: StoredCommit }
  /** Another writer moved the stream on since `expectedLastOffset`. */
  | { readonly _tag: 'Conflict'; readonly actualLastOffset?: number }
  /** The encoded commit exceeds what the server accepts; nothing was sent. */
  | { readonly _tag: 'TooLarge'; readonly size: number; readonly max: number }
  /** The log did not answer in time or refused for a transient reason; retry with the same commitId. */
  | { readonly _tag: 'Unavailable'; readonly message: string }

/** What {@link EventLog.appendRun} did with a run of commits of one stream. */
export type RunOutcome =
  /** Every commit stored, in order, at these offsets (one per commit). */
  | { readonly _tag: 'Appended'; readonly offsets: readonly number[] }
  /**
   * Nothing was stored: another writer moved the stream on, a commitId is already in the log, the
   * log is electing a leader, or a commit is too large for a run. Append them one by one instead;
   * each then gets the answer it would have got on its own.
   */
  | { readonly _tag: 'NotStored'; readonly reason: string }
  /** The log did not answer in time: all of the run or none of it may be stored; retry with the same commitIds. */
  | { readonly _tag: 'Unavailable'; readonly message: string }

/**
 * The event log port. One commit is one atomic append to one stream.
 *
 * Guarantees an implementation must give:
 * - `append` stores the whole commit or nothing, and only when the stream's last offset is still
 *   `expectedLastOffset` (0 = the stream is empty).
 * - A commitId seen inside the duplicate window is never stored twice. A second append of it
 *   answers `Duplicate` with the first commit, or `Conflict` when its expected offset is stale
 *   (which check comes first is the log's business); `findDuplicate` then finds the first commit.
 * - Appends to different streams may be in flight at once; their acks may arrive in any order.
 */
export interface EventLog {
  readHead(tenant: TenantId, stream: StreamId): Promise<StreamHead>
  /** Commits of one stream in version order, from `fromOffset` (default 1) up to and including `toOffset`. */
  readStream(tenant: TenantId, stream: StreamId, toOffset: number, fromOffset?: number): AsyncIterable<StoredCommit>
  /**
   * `context`: the request's id and trace context, stored with the commit as its metadata (the
   * JetStream adapter writes them as headers, `AllSource-Request-Id` and `traceparent`), never in
   * the body clients read back. A commit found as a duplicate keeps its first attempt's.
   */
  append(commit: Commit, expectedLastOffset: number, context?: RequestContext): Promise<AppendOutcome>
  /**
   * The commit stored under this commit's commitId (at least on its own stream) inside the duplicate window,
   * found without writing anything. Rejects when the log cannot tell (the commit may be stored).
   */
  findDuplicate(commit: Commit): Promise<StoredCommit | undefined>
  /**
   * Optional: appends several commits of one stream, in order, as one atomic write (all or none),
   * the first after `expectedLastOffset`, each after the one before it, each under its own
   * commitId, so that with an fsync per write a busy stream pays one fsync for the run instead of
   * one per commit. `contexts[i]` is `commits[i]`'s metadata. A log without it writes commit by commit.
   */
  appendRun?(commits: readonly Commit[], expectedLastOffset: number, contexts: readonly (RequestContext | undefined)[]): Promise<RunOutcome>
}

/** Wall-clock time. */
export interface Clock {
  now(): Date
}

/** Fresh, time-ordered unique ids (UUIDv7). */
export interface IdGenerator {
  eventId(): EventId
  commitId(): CommitId
}

/** The folded state of a module stream at one version, so hydration folds only the tail. */
export interface Snapshot {
  /** The module's `stateVersion` the state was folded with. */
  readonly stateVersion: number
  readonly version: number
  /** Log offset of the commit that holds `version`. */
  readonly offset: number
  readonly state: unknown
  readonly takenAt: Date
}

/**
 * Where snapshots live. Keyed by stream and the module's `stateVersion`, so a changed `evolve`
 * (a bumped `stateVersion`) never loads an incompatible snapshot. Losing a snapshot costs only
 * a longer hydration: the log stays the truth.
 */
export interface SnapshotStore {
  load(tenant: TenantId, stream: StreamId, stateVersion: number): Promise<Snapshot | undefined>
  save(tenant: TenantId, stream: StreamId, snapshot: Snapshot): Promise<void>
}
