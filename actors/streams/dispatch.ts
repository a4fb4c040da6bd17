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

/** Which stream an actor serves and what it decides with; fixed for the actor's life. */
export interface StreamIdentity {
  readonly tenant: TenantId
  readonly stream: StreamId
  readonly module: StreamModule | undefined
  readonly deps: PrepareDeps
  /** Writing queued commits as one run (`EventLog.appendRun`); undefined: one commit per write. */
  readonly runs?: RunOptions | undefined
}

/**
 * When queued commits of one stream go to the log as one run (docs/writing.md, "Grouped commits"):
 * at least `min` (counting the first) and at most `max` commits that each follow from the one
 * before; fewer go one by one.
 */
export interface RunOptions {
  readonly min: number
  readonly max: number
}

/**
 * The part of a stream actor's context that deciding the next piece of work reads and writes:
 * one mutable object per actor, held by reference in the xstate context and changed in place.
 *
 * Why mutable: xstate copies the context on every `assign`, and a stream actor takes an event or
 * two per append; changing this object in place costs no copy, no new arrays, no garbage
 * (issue 14 item 7). Who writes it: only the actor's own actions, and the supervisor's idle fast
 * path (`StreamSupervisor`), which runs the same {@link serve} step while the actor is `ready`
 * with nothing in flight and nothing queued, between two of the actor's (synchronous)
 * transitions. So writes never interleave, and the mailbox keeps arrival order.
 */
export class Mailbox {
  loaded: LoadedStream | undefined = undefined
  /** Work waiting behind `current`, in arrival order. */
  readonly queue: Work[] = []
  /** The work whose commit is being written or probed. */
  current: Work | undefined = undefined
  prepared: PreparedCommit | undefined = undefined
  /** The rejection of `current` while its commitId is probed for a duplicate. */
  rejection: AppendError | undefined = undefined
  conflicts = 0
  /** Work written after `current` in the same run, in order, and its prepared commits (empty: a single write). */
  readonly run: Work[] = []
  readonly runPrepared: PreparedCommit[] = []
  /** How many more writes go one by one: after a run the log did not store, each commit gets its own answer. */
  singles = 0
  /** Whether `current`'s commitId was looked up after its conflicts (once per piece of work). */
  checkedAfterConflicts = false

  /** Nothing in flight and nothing queued. */
  get idle(): boolean {
    return this.current === undefined && this.queue.length === 0
  }

  /** Forgets `current` (answered, or given up). */
  settle(): void {
    this.current = undefined
    this.prepared = undefined
    this.rejection = undefined
    this.conflicts = 0
    this.checkedAfterConflicts = false
    this.run.length = 0
    this.runPrepared.length = 0
  }

  /** After a run the log did not store: its later work goes back to the front of the queue, and all of it is written one by one. */
  unrun(): void {
    this.queue.unshift(...this.run)
    this.singles = this.run.length + 1
    this.run.length = 0
    this.runPrepared.length = 0
  }
}

/**
 * What {@link serve} leaves to do: write `prepared`'s commit, probe `current`'s commitId, reload
 * the stream before deciding `current` again, or nothing.
 */
export type Next = 'write' | 'probe' | 'reload' | 'none'

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
 * answered at once, in order; the first commit to write (left in `box.current`/`box.prepared`,
 * to append after `box.loaded`'s head) or commitId to probe (`box.rejection` kept) stops the loop,
 * and so does a `WrongExpectedVersion` that a stale copy may have caused (reload, then decide
 * again, once: `box.rejection` on a retried `current` marks that it was already re-decided).
 * `retry` re-decides `current` (after a conflict) before taking new work. Nothing happens before
 * the stream is loaded. No I/O: the caller does what the answer says.
 */
export const serve = (id: StreamIdentity, box: Mailbox, retry: boolean): Next => {
  const loaded = box.loaded
  if (loaded === undefined) return 'none'
  let work: Work | undefined = retry ? box.current : undefined
  if (!retry) box.conflicts = 0
  for (;;) {
    if (work === undefined) {
      work = box.queue.shift()
      if (work === undefined) break
      box.conflicts = 0
    }
    const p = prepareWork(id, work, loaded)
    if (E.isRight(p) && p.right !== undefined) {
      box.current = work
      box.prepared = p.right
      box.rejection = undefined
      if (box.singles > 0) box.singles--
      else if (id.runs !== undefined && box.queue.length + 1 >= id.runs.min) extendRun(id, id.runs.max, box, p.right, loaded)
      return 'write'
    }
    // Reload once before refusing: the refusal must hold against the log, not against a stale copy.
    if (E.isLeft(p) && mayBeStale(p.left, loaded) && !(retry && work === box.current && box.rejection !== undefined)) {
      box.current = work
      box.prepared = undefined
      box.rejection = p.left
      return 'reload'
    }
    if (E.isLeft(p) && needsProbe(work, p.left)) {
      box.current = work
      box.prepared = undefined
      box.rejection = p.left
      return 'probe'
    }
    work.reply(E.isLeft(p) ? p : E.right(noopResult(id, loaded)))
    work = undefined
  }
  box.settle()
  return 'none'
}

/**
 * Prepares the queued work that follows `first` into the run (`box.run`), each against the stream
 * as the commits before it leave it, up to `max` commits in all. Stops at the first piece of work
 * that would not simply be written (a rejection, a no-op, one to probe or reload for): it stays
 * queued and is decided after the run settles, against the stream as it then stands. Pure but for
 * the clock and ids `prepare` uses; no I/O.
 */
const extendRun = (id: StreamIdentity, max: number, box: Mailbox, first: PreparedCommit, loaded: LoadedStream): void => {
  let version = first.commit.events[first.commit.events.length - 1]?.version ?? loaded.head.version
  let state = first.nextState
  while (box.run.length + 1 < max) {
    const next = box.queue[0]
    if (next === undefined) break
    const p = prepareWork(id, next, { head: { version, lastOffset: loaded.head.lastOffset }, state })
    if (E.isLeft(p) || p.right === undefined) break
    box.queue.shift()
    box.run.push(next)
    box.runPrepared.push(p.right)
    version = p.right.commit.events[p.right.commit.events.length - 1]?.version ?? version
    state = p.right.nextState
  }
  if (box.run.length + 1 < (id.runs?.min ?? 2)) {
    // Too short to be worth a run after all: back in the queue, decided again one by one.
    box.queue.unshift(...box.run)
    box.run.length = 0
    box.runPrepared.length = 0
  }
}

/**
 * Settles a run stored at `offsets` (one per commit: `current`'s, then the run's): the head and
 * state move on commit by commit and each piece of work is answered, in order. Returns the
 * version before, for the snapshot schedule.
 */
export const settleRun = (box: Mailbox, offsets: readonly number[]): number => {
  const before = box.loaded?.head.version ?? 0
  const run = box.run.splice(0)
  const prepared = box.runPrepared.splice(0)
  settleAppended(box, offsets[0] as number)
  for (let i = 0; i < run.length; i++) {
    box.current = run[i]
    box.prepared = prepared[i]
    settleAppended(box, offsets[i + 1] as number)
  }
  return before
}

/**
 * Settles `box.current` after its commit was stored at `offset`: the head and state move on and
 * the work is answered. Returns the version before, for the snapshot schedule.
 */
export const settleAppended = (box: Mailbox, offset: number): number => {
  const work = box.current
  const prepared = box.prepared
  const before = box.loaded?.head.version ?? 0
  if (work === undefined || prepared === undefined) return before
  const commit: Commit = prepared.commit
  const last = commit.events[commit.events.length - 1]
  box.loaded = { head: { version: last?.version ?? before, lastOffset: offset }, state: prepared.nextState }
  box.settle()
  work.reply(E.right(appendResultOf({ offset, commit }, false)))
  return before
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
