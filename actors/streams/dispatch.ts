import * as E from 'fp-ts/lib/Either.js'
import type { Commit } from '../../src/domain/streams/event.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { StreamModule } from '../../src/domain/streams/module.js'
import { badRequest } from '../../src/domain/streams/errors.js'
import { appendResultOf, type AppendResult } from '../../src/application/streams/appendResult.js'
import { type AppendError, internal } from '../../src/application/streams/errors.js'
import type { StoredCommit } from '../../src/application/streams/ports.js'
import {
  type LoadedStream,
  type PrepareDeps,
  type PreparedCommit,
  prepareCommit,
  prepareDecision,
} from '../../src/application/streams/prepareCommit.js'
import type { Work } from './work.js'
import type { RequestContext } from '../../src/application/observability/ports.js'

/** Which stream an actor serves and what it decides with; fixed for the actor's life. */
export interface StreamIdentity {
  readonly tenant: TenantId
  readonly stream: StreamId
  readonly module: StreamModule | undefined
  readonly deps: PrepareDeps
}

/** The part of a stream actor's context that deciding the next piece of work reads and writes. */
export interface MailboxState {
  readonly loaded: LoadedStream | undefined
  readonly mailbox: readonly Work[]
  /** The work whose commit is being written or probed. */
  readonly current: Work | undefined
  readonly prepared: PreparedCommit | undefined
  /** The rejection of `current` while its commitId is probed for a duplicate. */
  readonly rejection: AppendError | undefined
  readonly conflicts: number
}

/** A reply to send once the transition is taken. */
export interface Answer {
  readonly work: Work
  readonly result: E.Either<AppendError, AppendResult>
}

/** What to do after looking at the mailbox: replies, and at most one commit to write or probe. */
export interface Dispatch {
  readonly next: MailboxState
  readonly answers: readonly Answer[]
  /** `meta`: the work itself, as the commit's request id and trace context. */
  readonly effect:
    | { readonly _tag: 'Write'; readonly commit: Commit; readonly expectedLastOffset: number; readonly meta: RequestContext }
    | { readonly _tag: 'Probe' }
    | { readonly _tag: 'Reload' }
    | undefined
}

/** A state with a fixed shape (cheap to create and to read on the hot path). */
export const mailboxState = (
  loaded: LoadedStream | undefined,
  mailbox: readonly Work[],
  current: Work | undefined,
  prepared: PreparedCommit | undefined,
  rejection: AppendError | undefined,
  conflicts: number,
): MailboxState => ({ loaded, mailbox, current, prepared, rejection, conflicts })

const prepareWork = (s: StreamIdentity, w: Work, loaded: LoadedStream): E.Either<AppendError, PreparedCommit | undefined> => {
  try {
    return w.kind === 'append'
      ? prepareCommit(s.deps, s.module, w.command, w.commitId, loaded)
      : prepareDecision(s.deps, s.module, { tenant: w.tenant, stream: w.stream }, w.command, w.commitId, loaded)
  } catch (e) {
    // A module's evolve, invariant or decide threw: a defect in user code, not a reason to die.
    return E.left(internal(`domain module failed: ${e instanceof Error ? e.message : String(e)}`))
  }
}

const needsProbe = (w: Work, e: AppendError): boolean =>
  w.clientCommitId && (e._tag === 'WrongExpectedVersion' || e._tag === 'ValidationFailed')

/**
 * A `WrongExpectedVersion` the actor's own copy of the stream may have caused: the client expects
 * more than this actor has seen (a number above its version, or `exists` while it holds none). The
 * actor's copy only ever lags the log (another processor may have appended since it loaded), so
 * only these can be untrue; an expectation below what it holds is wrong whatever the log says.
 */
const mayBeStale = (e: AppendError, loaded: LoadedStream): boolean =>
  e._tag === 'WrongExpectedVersion' &&
  ((typeof e.expected === 'number' && e.expected > loaded.head.version) || (e.expected === 'exists' && loaded.head.version === 0))

const noopResult = (s: StreamIdentity, loaded: LoadedStream): AppendResult => ({
  tenant: s.tenant,
  stream: s.stream,
  offset: loaded.head.lastOffset,
  fromVersion: loaded.head.version + 1,
  toVersion: loaded.head.version,
  eventIds: [],
})

/**
 * Serves the mailbox until a piece of work needs the log: rejections and no-op decisions are
 * answered at once, in order; the first commit to write (or commitId to probe) stops the loop, and
 * so does a `WrongExpectedVersion` that a stale copy may have caused (reload, then decide again).
 * `retry` re-decides `current` (after a conflict) before taking new work. Pure.
 */
export const dispatch = (id: StreamIdentity, s: MailboxState, retry: boolean): Dispatch => {
  const answers: Answer[] = []
  const loaded = s.loaded
  let mailbox = s.mailbox
  let work: Work | undefined = retry ? s.current : undefined
  let conflicts = retry ? s.conflicts : 0
  if (loaded === undefined) {
    return { next: mailboxState(loaded, mailbox, s.current, undefined, undefined, conflicts), answers, effect: undefined }
  }
  for (;;) {
    if (work === undefined) {
      if (mailbox.length === 0) break
      work = mailbox[0] as Work
      mailbox = mailbox.length === 1 ? [] : mailbox.slice(1)
      conflicts = 0
    }
    const p = prepareWork(id, work, loaded)
    if (E.isRight(p) && p.right !== undefined) {
      const prepared = p.right
      return {
        next: mailboxState(loaded, mailbox, work, prepared, undefined, conflicts),
        answers,
        effect: { _tag: 'Write', commit: prepared.commit, expectedLastOffset: loaded.head.lastOffset, meta: work },
      }
    }
    // Reload once before refusing: the refusal must hold against the log, not against a stale copy
    // (`rejection` on a retried `current` marks that this work was already re-decided after a reload).
    if (E.isLeft(p) && mayBeStale(p.left, loaded) && !(retry && work === s.current && s.rejection !== undefined)) {
      return { next: mailboxState(loaded, mailbox, work, undefined, p.left, conflicts), answers, effect: { _tag: 'Reload' } }
    }
    if (E.isLeft(p) && needsProbe(work, p.left)) {
      return { next: mailboxState(loaded, mailbox, work, undefined, p.left, conflicts), answers, effect: { _tag: 'Probe' } }
    }
    answers.push({ work, result: E.isLeft(p) ? p : E.right(noopResult(id, loaded)) })
    work = undefined
  }
  return { next: mailboxState(loaded, mailbox, undefined, undefined, undefined, 0), answers, effect: undefined }
}

/** The reply for a commitId the log already holds: the first result, or BAD_REQUEST if it was another stream's. */
export const duplicateResult = (s: Pick<StreamIdentity, 'tenant' | 'stream'>, original: StoredCommit): E.Either<AppendError, AppendResult> =>
  original.commit.tenant === s.tenant && original.commit.stream === s.stream
    ? E.right(appendResultOf(original, true))
    : E.left(
        badRequest(`commitId "${original.commit.commitId}" is already used by another stream`, {
          commitId: original.commit.commitId,
        }),
      )
