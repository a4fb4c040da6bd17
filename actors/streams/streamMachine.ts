import * as E from 'fp-ts/lib/Either.js'
import { fromPromise, setup } from 'xstate'
import type { Commit } from '../../src/domain/streams/event.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { StreamModule } from '../../src/domain/streams/module.js'
import { tooLarge } from '../../src/domain/streams/errors.js'
import { type AppendError, internal, ModuleFailed, unavailable } from '../../src/application/streams/errors.js'
import type { AppendOutcome, RunOutcome, StoredCommit } from '../../src/application/streams/ports.js'
import { snapshotDue } from '../../src/application/streams/loadStream.js'
import type { LoadedStream } from '../../src/application/streams/prepareCommit.js'
import type { RequestContext } from '../../src/application/observability/ports.js'
import { duplicateResult, Mailbox, type Next, serve, settleAppended, settleRun, type StreamIdentity } from './dispatch.js'
import type { Work } from './work.js'

export interface StreamActorInput extends StreamIdentity {
  /** Most pieces of work waiting in the mailbox; more are refused with UNAVAILABLE. */
  readonly maxMailbox: number
  /** How often one piece of work is retried after another writer got in first. */
  readonly maxConflictRetries: number
  /** Snapshot a module stream each time its version crosses a multiple of this (0 = never). */
  readonly snapshotEvery: number
  /** The actor's hot-path effects (one object per supervisor, shared by its actors). */
  readonly effects: StreamEffects
}

/** Something that takes the actor's events: the actor itself. */
export interface EventSink {
  send(event: StreamActorEvent): void
}

/**
 * The effects of the hot path. They are given in the input, not with `.provide()`, so that the
 * supervisor's idle fast path ({@link takeWork}) and the machine's own actions start the same write.
 */
export interface StreamEffects {
  /** Appends `commit` after `expectedLastOffset` (with `meta` as its headers) and sends `to` `WRITTEN` or `WRITE_FAILED`. */
  write(commit: Commit, expectedLastOffset: number, meta: RequestContext, to: EventSink): void
  /** Appends a run of commits as one atomic write (`EventLog.appendRun`) and sends `to` `WRITTEN_RUN` or `WRITE_FAILED`. */
  writeRun(commits: readonly Commit[], expectedLastOffset: number, metas: readonly RequestContext[], to: EventSink): void
  /** Best effort: a lost snapshot only makes the next hydration fold a longer tail. */
  snapshot(input: StreamActorInput, s: SnapshotRequest): void
}

/** One mutable mailbox, held by reference: xstate never copies it (see {@link Mailbox}). */
export interface Context {
  readonly input: StreamActorInput
  readonly box: Mailbox
}

/** A module stream's folded state at a version: what `StreamEffects.snapshot` saves. */
export interface SnapshotRequest {
  readonly version: number
  readonly offset: number
  readonly state: unknown
}

export type StreamActorEvent =
  | { readonly type: 'WORK'; readonly work: Work }
  | { readonly type: 'WRITTEN'; readonly outcome: AppendOutcome }
  | { readonly type: 'WRITTEN_RUN'; readonly outcome: RunOutcome }
  | { readonly type: 'WRITE_FAILED'; readonly error: unknown }
  | { readonly type: 'PROBE' }
  | { readonly type: 'RELOAD' }
  | { readonly type: 'PASSIVATE' }

export type LoadInput = { readonly tenant: TenantId; readonly stream: StreamId; readonly module: StreamModule | undefined }

const loadInput = ({ context }: { context: Context }): LoadInput => ({
  tenant: context.input.tenant,
  stream: context.input.stream,
  module: context.input.module,
})

/**
 * What work is answered when its write ended in doubt: the log's own "unavailable" (retry with the
 * same commitId), contention that outlasted the retries, or a defect.
 */
const abandonedAs = (event: StreamActorEvent, w: Work): AppendError =>
  (event.type === 'WRITTEN' || event.type === 'WRITTEN_RUN') && event.outcome._tag === 'Unavailable'
    ? unavailable(event.outcome.message, { commitId: w.commitId })
    : event.type === 'WRITTEN' && event.outcome._tag === 'Conflict'
      ? unavailable('stream is contended: other writers kept winning; retry', { commitId: w.commitId })
      : event.type === 'WRITE_FAILED'
        ? internal(`append failed: ${String(event.error)}`)
        : internal(`unexpected ${event.type} while appending`)

/** What `findDuplicate` looks up: the current work's commitId on this stream. */
const probeInput = ({ context }: { context: Context }): { commit: Commit } => ({
  commit: { commitId: context.box.current?.commitId as Commit['commitId'], tenant: context.input.tenant, stream: context.input.stream, events: [] },
})

const BUSY = 'stream is busy: its mailbox is full; retry with the same commitId'

/** Does what {@link serve} left to do: start the write of the prepared commit, go probing, or reload. */
const act = (input: StreamActorInput, box: Mailbox, next: Next, self: EventSink): void => {
  if (next === 'write') {
    const current = box.current as Work
    const commit = (box.prepared as { commit: Commit }).commit
    if (box.run.length === 0) input.effects.write(commit, box.loaded?.head.lastOffset ?? 0, current, self)
    else input.effects.writeRun([commit, ...box.runPrepared.map((p) => p.commit)], box.loaded?.head.lastOffset ?? 0, [current, ...box.run], self)
  } else if (next === 'probe') self.send({ type: 'PROBE' })
  else if (next === 'reload') self.send({ type: 'RELOAD' })
}

/**
 * Takes new work: refused when the mailbox is full, queued behind work in flight, else served
 * at once (its commit's write started). The machine's `WORK` in `ready`, and the supervisor's
 * fast path for an actor that is `ready` and idle, so that such an append costs the actor one
 * event (`WRITTEN`), not two.
 */
export const takeWork = (input: StreamActorInput, box: Mailbox, work: Work, self: EventSink): void => {
  if (box.queue.length >= input.maxMailbox) {
    work.reply(E.left(unavailable(BUSY)))
    return
  }
  box.queue.push(work)
  if (box.current === undefined) act(input, box, serve(input, box, false), self)
}

/** Serves the mailbox after a load, a probe or a settled write (retrying `current` after a reload). */
const serveNow = ({ context, self }: { context: Context; self: EventSink }): void =>
  act(context.input, context.box, serve(context.input, context.box, context.box.current !== undefined), self)

/**
 * One generic stream actor. It hydrates its stream, then serves its mailbox in arrival order,
 * one commit in flight at a time, against the state it holds; on a conflict with another writer
 * it reloads and decides the same work again. `load` and `findDuplicate` are promise actors
 * supplied with `.provide()`; the write is `input.effects.write`, which sends `WRITTEN` (or
 * `WRITE_FAILED`) back, so the hot path spawns nothing. Rules live in `dispatch.ts`; no action
 * assigns (the context's one mailbox is changed in place), so xstate copies nothing per event.
 */
const streamSetup = setup({
  types: {
    context: {} as Context,
    events: {} as StreamActorEvent,
    input: {} as StreamActorInput,
  },
  actors: {
    load: fromPromise<LoadedStream, LoadInput>(async () => {
      throw new Error('load not provided')
    }),
    findDuplicate: fromPromise<StoredCommit | undefined, { commit: Commit }>(async () => {
      throw new Error('findDuplicate not provided')
    }),
  },
  guards: {
    isIdle: ({ context }) => context.box.idle,
    retryConflict: ({ context, event }) =>
      event.type === 'WRITTEN' && event.outcome._tag === 'Conflict' && context.box.conflicts < context.input.maxConflictRetries,
    /**
     * A client's commitId that met a second conflict: it may be a retry of a commit already stored
     * (nats-server checks the expected sequence before its dedupe, so a busy stream can refuse the
     * retry again and again); look it up once before retrying further.
     */
    checkAfterConflicts: ({ context, event }) =>
      event.type === 'WRITTEN' &&
      event.outcome._tag === 'Conflict' &&
      context.box.current?.clientCommitId === true &&
      !context.box.checkedAfterConflicts &&
      context.box.conflicts >= 1 &&
      context.box.conflicts < context.input.maxConflictRetries,
    settledInPlace: ({ event }) => event.type === 'WRITTEN' && (event.outcome._tag === 'Appended' || event.outcome._tag === 'TooLarge'),
    runAppended: ({ event }) => event.type === 'WRITTEN_RUN' && event.outcome._tag === 'Appended',
    runNotStored: ({ event }) => event.type === 'WRITTEN_RUN' && event.outcome._tag === 'NotStored',
  },
  actions: {
    /** Work while loading, reloading or probing: queued (or refused when the mailbox is full). */
    enqueue: ({ context, event }) => {
      if (event.type !== 'WORK') return
      if (context.box.queue.length >= context.input.maxMailbox) event.work.reply(E.left(unavailable(BUSY)))
      else context.box.queue.push(event.work)
    },
    take: ({ context, event, self }) => {
      if (event.type === 'WORK') takeWork(context.input, context.box, event.work, self)
    },
    /** A stored or too-large commit: answered, and the next work served in the same step. */
    settle: ({ context, event, self }) => {
      if (event.type !== 'WRITTEN') return
      const { input, box } = context
      const o = event.outcome
      if (o._tag === 'Appended') {
        const before = settleAppended(box, o.offset)
        const loaded = box.loaded
        if (input.module !== undefined && loaded !== undefined && snapshotDue(before, loaded.head.version, input.snapshotEvery)) {
          input.effects.snapshot(input, { version: loaded.head.version, offset: o.offset, state: loaded.state })
        }
      } else if (o._tag === 'TooLarge') {
        const work = box.current
        box.settle()
        work?.reply(E.left(tooLarge(o.size, o.max)))
      }
      act(input, box, serve(input, box, false), self)
    },
    /** A stored run: each of its commits answered in order, and the next work served in the same step. */
    settleRun: ({ context, event, self }) => {
      if (event.type !== 'WRITTEN_RUN' || event.outcome._tag !== 'Appended') return
      const { input, box } = context
      const offsets = event.outcome.offsets
      const before = settleRun(box, offsets)
      const loaded = box.loaded
      if (input.module !== undefined && loaded !== undefined && snapshotDue(before, loaded.head.version, input.snapshotEvery)) {
        input.effects.snapshot(input, { version: loaded.head.version, offset: offsets[offsets.length - 1] as number, state: loaded.state })
      }
      act(input, box, serve(input, box, false), self)
    },
    /** A run the log did not store: reloaded, then its commits are written one by one (`current` first). */
    unrun: ({ context }) => context.box.unrun(),
    loaded: ({ context, event }) => {
      context.box.loaded = (event as unknown as { output: LoadedStream }).output
    },
    serve: serveNow,
    /** Answers the current work (and the rest of its run) after an outcome that leaves the actor's state in doubt. */
    abandon: ({ context, event }) => {
      const box = context.box
      const work = box.current
      if (work === undefined) return
      const run = box.run.splice(0)
      box.settle()
      if (event.type === 'WRITTEN' && event.outcome._tag === 'Duplicate') {
        work.reply(duplicateResult(context.input, event.outcome.original))
        return
      }
      work.reply(E.left(abandonedAs(event, work)))
      for (const w of run) w.reply(E.left(abandonedAs(event, w)))
    },
    countConflict: ({ context }) => {
      context.box.conflicts++
    },
    failAll: ({ context, event }) => {
      const cause = (event as { error?: unknown }).error
      // A module's evolve that throws is a defect (INTERNAL), as during an append; anything else
      // (the log unreachable, a timeout) is an outage worth retrying.
      // An outage or a full consumer budget: retry after what the cause says, else after a second.
      const hinted = (cause as { readonly retryAfterMs?: unknown } | null)?.retryAfterMs
      const retryAfterMs = typeof hinted === 'number' && hinted > 0 ? hinted : 1_000
      const err =
        cause instanceof ModuleFailed
          ? internal(`stream could not be loaded: ${cause.message}`)
          : unavailable(`stream could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { retryAfterMs })
      const box = context.box
      const waiting = box.current === undefined ? box.queue.splice(0) : [box.current, ...box.run.splice(0), ...box.queue.splice(0)]
      box.settle()
      for (const w of waiting) w.reply(E.left(err))
    },
  },
})

export const streamMachine = streamSetup.createMachine({
  id: 'stream',
  context: ({ input }) => ({ input, box: new Mailbox() }),
  on: { WORK: { actions: 'enqueue' } },
  initial: 'loading',
  states: {
    loading: {
      invoke: {
        id: 'load',
        src: 'load',
        input: loadInput,
        onDone: { target: 'ready', actions: ['loaded', 'serve'] },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    ready: {
      on: {
        WORK: { actions: 'take' },
        WRITTEN: [
          { guard: 'settledInPlace', actions: 'settle' },
          { guard: 'checkAfterConflicts', target: 'checkingRetry', actions: 'countConflict' },
          { guard: 'retryConflict', target: 'reloading', actions: 'countConflict' },
          { target: 'reloading', actions: 'abandon' },
        ],
        WRITTEN_RUN: [
          { guard: 'runAppended', actions: 'settleRun' },
          { guard: 'runNotStored', target: 'reloading', actions: 'unrun' },
          { target: 'reloading', actions: 'abandon' },
        ],
        WRITE_FAILED: { target: 'reloading', actions: 'abandon' },
        PROBE: { target: 'probing' },
        RELOAD: { target: 'reloading' },
        PASSIVATE: { guard: 'isIdle', target: 'passivated' },
      },
    },
    probing: {
      invoke: {
        id: 'probe',
        src: 'findDuplicate',
        input: probeInput,
        onDone: {
          target: 'ready',
          actions: [
            ({ context, event }) => {
              const box = context.box
              const work = box.current
              const rejection = box.rejection ?? internal('no rejection recorded')
              box.settle()
              work?.reply(event.output !== undefined ? duplicateResult(context.input, event.output) : E.left(rejection))
            },
            'serve',
          ],
        },
        onError: {
          target: 'ready',
          // Whether the commitId is stored is unknown: the original rejection might be untrue.
          actions: [
            ({ context, event }) => {
              const box = context.box
              const work = box.current
              const why = event.error instanceof Error ? event.error.message : String(event.error)
              box.settle()
              work?.reply(E.left(unavailable(`duplicate check failed: ${why}`, { commitId: work.commitId })))
            },
            'serve',
          ],
        },
      },
    },
    /** After conflicts, a client's commitId looked up: stored (ours, or another stream's) is the answer; else retried. */
    checkingRetry: {
      entry: ({ context }) => {
        context.box.checkedAfterConflicts = true
      },
      invoke: {
        id: 'checkRetry',
        src: 'findDuplicate',
        input: probeInput,
        onDone: [
          {
            guard: ({ event }) => event.output !== undefined,
            target: 'ready',
            actions: [
              ({ context, event }) => {
                const box = context.box
                const work = box.current
                box.settle()
                if (event.output !== undefined) work?.reply(duplicateResult(context.input, event.output))
              },
              'serve',
            ],
          },
          // Not stored: decided again against the reloaded stream, as after any conflict.
          { target: 'reloading' },
        ],
        // The lookup could not tell: retried as after any conflict (the write's own checks keep it exactly once).
        onError: { target: 'reloading' },
      },
    },
    reloading: {
      invoke: {
        id: 'reload',
        src: 'load',
        input: loadInput,
        onDone: { target: 'ready', actions: ['loaded', 'serve'] },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    passivated: { type: 'final' },
    failed: { type: 'final' },
  },
})

export type StreamMachine = typeof streamMachine
