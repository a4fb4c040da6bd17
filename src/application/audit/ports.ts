import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { AuditDraft, AuditEntry, AuditId } from '../../domain/security/audit.js'
import type { AuditQuery, AuditScope } from '../../domain/security/auditQuery.js'

/** What `record` did with a draft, decided at once (it never waits for the store). */
export type RecordOutcome =
  | { readonly accepted: true; readonly id: AuditId }
  /**
   * Not kept, and reported through `onDropped` and the `dropped` counter: the buffer is full
   * (the store has been failing for a while), the log is closed, or the draft's action or outcome
   * is not one of the union's values (a programming error).
   */
  | { readonly accepted: false; readonly reason: 'full' | 'closed' | 'invalid' }

/** Counters of the write path, for metrics and health checks. */
export interface AuditWriterStats {
  /** Accepted entries not yet known to be stored (in flight included). */
  readonly pending: number
  /** Entries the store acknowledged. */
  readonly written: number
  /** Failed write attempts (each is retried). */
  readonly failedAttempts: number
  /** Entries given up: refused by a full buffer, left when the log closed, or invalid. */
  readonly dropped: number
  /** The last write error, when the last attempt failed. */
  readonly lastError?: string
}

/** One page of entries, oldest first (in the order the store holds them). */
export interface AuditPage {
  readonly entries: readonly AuditEntry[]
  /** Present iff more matching entries follow (stored before the query began): pass it as `after`. */
  readonly next?: number
  /** Stored entries in the range that did not decode as an `AuditEntry`: skipped, counted, never answered. */
  readonly skipped?: number
}

/** The store did not answer (down, or its reader budget is spent). Answered `UNAVAILABLE` (503). */
export interface AuditLogUnavailable {
  readonly _tag: 'AuditLogUnavailable'
  readonly message: string
  readonly retryAfterMs?: number
}

/** Why an entry was given up; the entry is already redacted, so it is safe to log. */
export type DropReason = 'full' | 'closed' | 'invalid'

/** Write-path settings shared by every implementation. */
export interface AuditWriterOptions {
  /** Most accepted entries held while the store is slow or down; past it `record` refuses (`full`). Default 10,000. */
  readonly capacity: number
  /** Most writes in flight at once. Default 32. */
  readonly batch: number
  /** Wait before retrying a failed write, doubling from `retryMinMs` to `retryMaxMs`. Defaults 100 ms and 5 s. */
  readonly retryMinMs: number
  readonly retryMaxMs: number
  /** Called for every entry given up (never silently). */
  readonly onDropped?: (entry: AuditEntry | undefined, reason: DropReason) => void
  /** Called for every failed write attempt; the entry stays queued and is retried. */
  readonly onWriteError?: (error: unknown, consecutiveFailures: number) => void
}

export const defaultAuditWriterOptions: AuditWriterOptions = { capacity: 10_000, batch: 32, retryMinMs: 100, retryMaxMs: 5_000 }

/**
 * The audit log (issue 11 item 8). Guarantees every implementation gives:
 *
 * **Writing** (`record`):
 * - never throws and never waits on the caller's path: it redacts the draft into an
 *   `AuditEntry` (`toAuditEntry`: no secret is ever stored), queues it and answers at once;
 * - an accepted entry is written in the background and retried after a failure (backoff from
 *   `retryMinMs` to `retryMaxMs`) until it is stored or the log is closed; retries carry the
 *   entry's id so the store can drop a duplicate of a write that did land (JetStream: within the
 *   duplicate window);
 * - the buffer is bounded (`capacity`): while the store is down, entries beyond it are refused
 *   (`{ accepted: false, reason: 'full' }`) and reported through `onDropped` and `stats().dropped`,
 *   the oldest kept. Nothing is lost without being reported;
 * - entries of one log are stored in the order they were accepted, except that an entry retried
 *   after a failure may land after entries accepted later.
 *
 * **Reading** (`query`): entries of `scope` only (a tenant's, the platform's, or all), matching
 * every filter of `q` (`since`/`until` inclusive on `at`, `action` exact or by prefix, `user` =
 * `who.id`), oldest first by store position, at most `q.limit` per page and bounded in bytes.
 * Paging with `after` = the previous page's `next` never repeats or skips an entry. An entry
 * being written while a query runs may or may not be in it.
 */
export interface AuditLog {
  record(draft: AuditDraft): RecordOutcome
  query(scope: AuditScope, q: AuditQuery): TE.TaskEither<AuditLogUnavailable, AuditPage>
  /** Resolves true once every entry accepted so far is stored, false if `timeoutMs` (default 30 s) passes first. */
  flush(timeoutMs?: number): Promise<boolean>
  stats(): AuditWriterStats
  /**
   * Refuses new entries (`closed`), waits up to `timeoutMs` (default 5 s) for the queued ones,
   * then gives up the rest, each reported through `onDropped` with reason `closed`.
   */
  close(timeoutMs?: number): Promise<void>
}
