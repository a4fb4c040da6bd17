import * as E from 'fp-ts/lib/Either.js'
import { assign, enqueueActions, fromPromise, raise, setup } from 'xstate'
import type { Commit } from '../../src/domain/streams/event.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { StreamModule } from '../../src/domain/streams/module.js'
import { tooLarge } from '../../src/domain/streams/errors.js'
import { appendResultOf } from '../../src/application/streams/appendResult.js'
import { type AppendError, internal, ModuleFailed, unavailable } from '../../src/application/streams/errors.js'
import type { AppendOutcome, StoredCommit } from '../../src/application/streams/ports.js'
import { snapshotDue } from '../../src/application/streams/loadStream.js'
import type { LoadedStream } from '../../src/application/streams/prepareCommit.js'
import { type Answer, type Dispatch, type MailboxState, type StreamIdentity, dispatch, duplicateResult, mailboxState } from './dispatch.js'
import type { Work } from './work.js'
import type { RequestContext } from '../../src/application/observability/ports.js'

export interface StreamActorInput extends StreamIdentity {
  /** Most pieces of work waiting in the mailbox; more are refused with UNAVAILABLE. */
  readonly maxMailbox: number
  /** How often one piece of work is retried after another writer got in first. */
  readonly maxConflictRetries: number
  /** Snapshot a module stream each time its version crosses a multiple of this (0 = never). */
  readonly snapshotEvery: number
}

/** Kept small and of one shape: xstate copies the context on every assign. */
interface Context extends MailboxState {
  readonly input: StreamActorInput
}

/** A module stream's folded state at a version: the `snapshot` action's params. */
export interface SnapshotRequest {
  readonly version: number
  readonly offset: number
  readonly state: unknown
}

/** A commit to append; the `write` action's params. Its outcome comes back as `WRITTEN`. */
export interface WriteRequest {
  readonly commit: Commit
  readonly expectedLastOffset: number
  /** The request's id and trace context, stored as the commit's headers. */
  readonly meta?: RequestContext
}

export type StreamActorEvent =
  | { readonly type: 'WORK'; readonly work: Work }
  | { readonly type: 'WRITTEN'; readonly outcome: AppendOutcome }
  | { readonly type: 'WRITE_FAILED'; readonly error: unknown }
  | { readonly type: 'PROBE' }
  | { readonly type: 'RELOAD' }
  /** Raised after a load or probe: serve the mailbox (or retry `current`). */
  | { readonly type: 'SERVE' }
  | { readonly type: 'PASSIVATE' }

export type LoadInput = { readonly tenant: TenantId; readonly stream: StreamId; readonly module: StreamModule | undefined }

const loadInput = ({ context }: { context: Context }): LoadInput => ({
  tenant: context.input.tenant,
  stream: context.input.stream,
  module: context.input.module,
})

const cleared = { current: undefined, prepared: undefined, rejection: undefined, conflicts: 0 } as const

const busy = (w: Work): Answer => ({ work: w, result: E.left(unavailable('stream is busy: its mailbox is full; retry with the same commitId')) })

/** What one step of a ready actor does; `next` replaces the mailbox state. */
interface Plan {
  readonly next: MailboxState | undefined
  readonly answers: readonly Answer[]
  readonly effect: Dispatch['effect']
  readonly snapshot?: SnapshotRequest
}

const withAnswer = (d: Dispatch, first: Answer, snapshot?: SnapshotRequest): Plan => ({
  next: d.next,
  answers: [first, ...d.answers],
  effect: d.effect,
  ...(snapshot !== undefined ? { snapshot } : {}),
})

/**
 * The hot path of a ready stream actor, as a pure function of its context and the event:
 * new work is taken at once when nothing is in flight (else queued); an appended commit updates
 * the head and state, is answered, and the next work is taken in the same step; any other event
 * (a load or probe finished) serves the mailbox, retrying `current` after a conflict.
 */
export const planStep = (context: Context, event: StreamActorEvent | { readonly type: string }): Plan => {
  if (event.type === 'WORK') {
    const work = (event as { work: Work }).work
    if (context.mailbox.length >= context.input.maxMailbox) return { next: undefined, answers: [busy(work)], effect: undefined }
    const mailbox = context.mailbox.length === 0 ? [work] : [...context.mailbox, work]
    const s = mailboxState(context.loaded, mailbox, context.current, context.prepared, context.rejection, context.conflicts)
    if (context.current !== undefined) return { next: s, answers: [], effect: undefined }
    return dispatch(context.input, s, false)
  }
  if (event.type === 'WRITTEN' && context.current !== undefined && context.prepared !== undefined) {
    const o = (event as { outcome: AppendOutcome }).outcome
    const work = context.current
    if (o._tag === 'Appended') {
      const { commit, nextState } = context.prepared
      const last = commit.events[commit.events.length - 1]
      const loaded: LoadedStream = { head: { version: last?.version ?? 0, lastOffset: o.offset }, state: nextState }
      const answer: Answer = { work, result: E.right(appendResultOf({ offset: o.offset, commit }, false)) }
      const before = context.loaded?.head.version ?? 0
      const due = context.input.module !== undefined && snapshotDue(before, loaded.head.version, context.input.snapshotEvery)
      const snapshot = due ? { version: loaded.head.version, offset: o.offset, state: nextState } : undefined
      return withAnswer(dispatch(context.input, mailboxState(loaded, context.mailbox, undefined, undefined, undefined, 0), false), answer, snapshot)
    }
    if (o._tag === 'TooLarge') {
      const answer: Answer = { work, result: E.left(tooLarge(o.size, o.max)) }
      return withAnswer(dispatch(context.input, mailboxState(context.loaded, context.mailbox, undefined, undefined, undefined, 0), false), answer)
    }
  }
  return dispatch(context.input, context, context.current !== undefined)
}


/**
 * One generic stream actor. It hydrates its stream, then serves its mailbox in arrival order,
 * one commit in flight at a time, against the state it holds; on a conflict with another writer
 * it reloads and decides the same work again. Effects are named here and supplied with
 * `.provide()`: `load` and `findDuplicate` (promise actors) and the `write` action, which
 * appends a commit and sends `WRITTEN` (or `WRITE_FAILED`) back, so the hot path spawns nothing.
 * Rules live in the pure core (`dispatch`).
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
    isIdle: ({ context }) => context.current === undefined && context.mailbox.length === 0,
    retryConflict: ({ context, event }) =>
      event.type === 'WRITTEN' && event.outcome._tag === 'Conflict' && context.conflicts < context.input.maxConflictRetries,
    settledInPlace: ({ event }) => event.type === 'WRITTEN' && (event.outcome._tag === 'Appended' || event.outcome._tag === 'TooLarge'),
  },
  actions: {
    write: (_, _params: WriteRequest) => {
      throw new Error('write not provided')
    },
    /** Best effort: a lost snapshot only makes the next hydration fold a longer tail. */
    snapshot: (_, _params: SnapshotRequest) => undefined,
    enqueue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'WORK') return
      if (context.mailbox.length >= context.input.maxMailbox) {
        const w = event.work
        enqueue(() => w.reply(E.left(unavailable('stream is busy: its mailbox is full; retry with the same commitId'))))
      } else {
        enqueue.assign({ mailbox: [...context.mailbox, event.work] })
      }
    }),
    /** Answers the current work after an outcome that leaves the actor's state in doubt. */
    abandon: enqueueActions(({ context, event, enqueue }) => {
      const work = context.current
      if (work === undefined) return
      let result: E.Either<AppendError, ReturnType<typeof appendResultOf>>
      if (event.type === 'WRITTEN' && event.outcome._tag === 'Duplicate') result = duplicateResult(context.input, event.outcome.original)
      else if (event.type === 'WRITTEN' && event.outcome._tag === 'Unavailable') {
        result = E.left(unavailable(event.outcome.message, { commitId: work.commitId }))
      } else if (event.type === 'WRITTEN' && event.outcome._tag === 'Conflict') {
        result = E.left(unavailable('stream is contended: other writers kept winning; retry', { commitId: work.commitId }))
      } else if (event.type === 'WRITE_FAILED') result = E.left(internal(`append failed: ${String(event.error)}`))
      else result = E.left(internal(`unexpected ${event.type} while appending`))
      enqueue.assign(cleared)
      enqueue(() => work.reply(result))
    }),
    countConflict: assign({ conflicts: ({ context }) => context.conflicts + 1 }),
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
      context.current?.reply(E.left(err))
      for (const w of context.mailbox) w.reply(E.left(err))
    },
  },
})

/** Takes new work, settles a written commit, or serves the mailbox after a load: see `planStep`. */
const step = streamSetup.enqueueActions(({ context, event, enqueue }) => {
  const p = planStep(context, event)
  if (p.next !== undefined) enqueue.assign(p.next)
  const answers = p.answers
  if (answers.length > 0) {
    enqueue(() => {
      for (const a of answers) a.work.reply(a.result)
    })
  }
  if (p.snapshot !== undefined) enqueue({ type: 'snapshot', params: p.snapshot })
  if (p.effect?._tag === 'Write') enqueue({ type: 'write', params: { commit: p.effect.commit, expectedLastOffset: p.effect.expectedLastOffset, meta: p.effect.meta } })
  else if (p.effect?._tag === 'Probe') enqueue.raise({ type: 'PROBE' })
  else if (p.effect?._tag === 'Reload') enqueue.raise({ type: 'RELOAD' })
})

export const streamMachine = streamSetup.createMachine({
  id: 'stream',
  context: ({ input }) => ({ input, ...mailboxState(undefined, [], undefined, undefined, undefined, 0) }),
  on: { WORK: { actions: 'enqueue' } },
  initial: 'loading',
  states: {
    loading: {
      invoke: {
        id: 'load',
        src: 'load',
        input: loadInput,
        onDone: { target: 'ready', actions: [assign({ loaded: ({ event }) => event.output }), raise({ type: 'SERVE' })] },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    ready: {
      on: {
        WORK: { actions: step },
        SERVE: { actions: step },
        WRITTEN: [
          { guard: 'settledInPlace', actions: step },
          { guard: 'retryConflict', target: 'reloading', actions: 'countConflict' },
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
        input: ({ context }) => ({
          commit: { commitId: context.current?.commitId as Commit['commitId'], tenant: context.input.tenant, stream: context.input.stream, events: [] },
        }),
        onDone: {
          target: 'ready',
          actions: [
            ({ context, event }) => {
              const rejection = context.rejection ?? internal('no rejection recorded')
              context.current?.reply(event.output !== undefined ? duplicateResult(context.input, event.output) : E.left(rejection))
            },
            assign(cleared),
            raise({ type: 'SERVE' }),
          ],
        },
        onError: {
          target: 'ready',
          // Whether the commitId is stored is unknown: the original rejection might be untrue.
          actions: [
            ({ context, event }) => {
              const commitId = context.current?.commitId
              const why = event.error instanceof Error ? event.error.message : String(event.error)
              context.current?.reply(E.left(unavailable(`duplicate check failed: ${why}`, { commitId })))
            },
            assign(cleared),
            raise({ type: 'SERVE' }),
          ],
        },
      },
    },
    reloading: {
      invoke: {
        id: 'reload',
        src: 'load',
        input: loadInput,
        onDone: { target: 'ready', actions: [assign({ loaded: ({ event }) => event.output }), raise({ type: 'SERVE' })] },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    passivated: { type: 'final' },
    failed: { type: 'final' },
  },
})

export type StreamMachine = typeof streamMachine
