import type { Commit } from '../../domain/streams/event.js'

/** A read-model entry as stored: the state and the position of the last event folded into it. */
export interface Entry<S> {
  readonly state: S
  readonly offset: number
  readonly index: number
}

/** A key as last seen in the store: its entry (none if absent or deleted) and its revision, for compare-and-set. */
export interface Known<S> {
  readonly entry?: Entry<S>
  /** 0: the key never existed (what a create must expect). */
  readonly revision: number
}

/** What a compare-and-set write did. */
export type WriteOutcome =
  | { readonly _tag: 'Stored'; readonly revision: number }
  /** The key's revision is no longer the one expected: another writer changed it. */
  | { readonly _tag: 'Fenced'; readonly message: string }
  /** Anything else (unavailable, timeout): nothing is known to be written. */
  | { readonly _tag: 'Failed'; readonly message: string }

/**
 * Where one projection's read model lives (one generation): a map from `<tenant>.<key>` to an
 * {@link Entry}, each key with a revision that every successful write changes.
 *
 * Guarantees an implementation must give:
 * - `get` of a key never written answers revision 0; after a delete, no entry and a non-zero revision.
 * - `put` stores the entry only if the key's revision is still `expectedRevision` (0 = absent),
 *   and answers the new revision, which is greater than any revision it answered before;
 *   otherwise it answers `Fenced` and changes nothing.
 * - Puts to different keys may be in flight at once.
 */
export interface ReadModelStore<S> {
  /** Whether nothing was ever written to the store (a fresh generation needs no reads). */
  isEmpty(): Promise<boolean>
  get(key: string): Promise<Known<S>>
  put(key: string, entry: Entry<S>, expectedRevision: number): Promise<WriteOutcome>
}

/** One commit of the log as a fold's feed delivers it. */
export interface FeedMessage {
  /** The commit's log offset. */
  readonly offset: number
  /** Commits of the feed still to be delivered after this one (0: caught up, live). */
  readonly pending: number
  /** The decoded commit; throws on a commit that cannot be decoded (a poison commit). */
  commit(): Commit
  /** Acknowledges this commit and every commit delivered before it (the checkpoint moves here). */
  ack(): Promise<void>
}

/**
 * The log as one fold reads it: every commit after the checkpoint, in log order, then live ones.
 * An unacknowledged commit is delivered again to the next fold opened on the same feed.
 *
 * Since an ack acknowledges every commit before it too, a feed must deliver to this fold alone:
 * one that finds a commit went elsewhere (another fold pulled it, a delivery was lost) ends the
 * iteration with an error before yielding anything past it, so nothing past it is written or acked.
 */
export interface CommitFeed {
  readonly messages: AsyncIterable<FeedMessage>
  /** Ends the iteration (the fold stops pulling). */
  stop(): void
}

/** One change of a read model, as published on its topic. */
export interface TopicUpdate {
  readonly projection: string
  readonly tenant: string
  readonly key: string
  readonly state: unknown
  readonly offset: number
}

/** Where a fold announces changes (at most once per change; a crash may repeat one, with its offset). */
export interface TopicSink {
  publish(update: TopicUpdate): void
}
