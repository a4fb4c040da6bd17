import * as E from 'fp-ts/lib/Either.js'
import { assign, enqueueActions, fromCallback, fromPromise, setup } from 'xstate'
import type { Commit } from '../../src/domain/streams/event.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { StreamModule } from '../../src/domain/streams/module.js'
import { tooLarge } from '../../src/domain/streams/errors.js'
import { appendResultOf } from '../../src/application/streams/appendResult.js'
import { type AppendError, internal, unavailable } from '../../src/application/streams/errors.js'
import type { AppendOutcome, StoredCommit } from '../../src/application/streams/ports.js'
import type { LoadedStream, PrepareDeps } from '../../src/application/streams/prepareCommit.js'
import { type Answer, type Dispatch, type MailboxState, dispatch, duplicateResult } from './dispatch.js'
import type { Work } from './work.js'

export interface StreamActorInput {
  readonly tenant: TenantId
  readonly stream: StreamId
  readonly module: StreamModule | undefined
  readonly deps: PrepareDeps
  /** Most pieces of work waiting in the mailbox; more are refused with UNAVAILABLE. */
  readonly maxMailbox: number
  /** How often one piece of work is retried after another writer got in first. */
  readonly maxConflictRetries: number
}

interface Context extends StreamActorInput, MailboxState {}

/** A commit for the writer child to append. */
export interface WriteRequest {
  readonly type: 'WRITE'
  readonly commit: Commit
  readonly expectedLastOffset: number
}

export type StreamActorEvent =
  | { readonly type: 'WORK'; readonly work: Work }
  | { readonly type: 'WRITTEN'; readonly outcome: AppendOutcome }
  | { readonly type: 'WRITE_FAILED'; readonly error: unknown }
  | { readonly type: 'PROBE' }
  | { readonly type: 'PASSIVATE' }

export type LoadInput = { readonly tenant: TenantId; readonly stream: StreamId; readonly module: StreamModule | undefined }

const loadInput = ({ context }: { context: Context }): LoadInput => ({
  tenant: context.tenant,
  stream: context.stream,
  module: context.module,
})

const cleared = { current: undefined, prepared: undefined, rejection: undefined, conflicts: 0 } as const

/**
 * One generic stream actor. It hydrates its stream, then serves its mailbox in arrival order,
 * one commit in flight at a time, against the state it holds; on a conflict with another writer
 * it reloads and decides the same work again. Effects are named here and supplied with
 * `.provide()`: `load` and `findDuplicate` (promises) and `writer` (a long-lived child that
 * appends commits, so the hot path spawns nothing). Rules live in the pure core (`dispatch`).
 */
export const streamMachine = setup({
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
    writer: fromCallback<WriteRequest, LoadInput>(() => {
      throw new Error('writer not provided')
    }),
  },
  guards: {
    isIdle: ({ context }) => context.current === undefined && context.mailbox.length === 0,
    retryConflict: ({ context, event }) =>
      event.type === 'WRITTEN' && event.outcome._tag === 'Conflict' && context.conflicts < context.maxConflictRetries,
    settledInPlace: ({ event }) => event.type === 'WRITTEN' && (event.outcome._tag === 'Appended' || event.outcome._tag === 'TooLarge'),
  },
  actions: {
    enqueue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'WORK') return
      if (context.mailbox.length >= context.maxMailbox) {
        const w = event.work
        enqueue(() => w.reply(E.left(unavailable('stream is busy: its mailbox is full; retry with the same commitId'))))
      } else {
        enqueue.assign({ mailbox: [...context.mailbox, event.work] })
      }
    }),
    /** Takes new work at once when nothing is in flight. */
    accept: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'WORK') return
      if (context.mailbox.length >= context.maxMailbox) {
        const w = event.work
        enqueue(() => w.reply(E.left(unavailable('stream is busy: its mailbox is full; retry with the same commitId'))))
        return
      }
      const withWork = { ...context, mailbox: [...context.mailbox, event.work] }
      if (context.current !== undefined) {
        enqueue.assign({ mailbox: withWork.mailbox })
        return
      }
      perform(dispatch(withWork, false), [], enqueue)
    }),
    /** Serves the mailbox (or retries `current`) after loading or reloading. */
    serve: enqueueActions(({ context, enqueue }) => perform(dispatch(context, context.current !== undefined), [], enqueue)),
    /** Settles an appended or too-large commit and takes the next work in the same step. */
    settle: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'WRITTEN' || context.current === undefined || context.prepared === undefined) return
      const o = event.outcome
      const work = context.current
      if (o._tag === 'Appended') {
        const { commit, nextState } = context.prepared
        const last = commit.events[commit.events.length - 1]
        const loaded: LoadedStream = { head: { version: last?.version ?? 0, lastOffset: o.offset }, state: nextState }
        enqueue.assign({ loaded })
        const answer: Answer = { work, result: E.right(appendResultOf({ offset: o.offset, commit }, false)) }
        perform(dispatch({ ...context, loaded, ...cleared }, false), [answer], enqueue)
      } else if (o._tag === 'TooLarge') {
        const answer: Answer = { work, result: E.left(tooLarge(o.size, o.max)) }
        perform(dispatch({ ...context, ...cleared }, false), [answer], enqueue)
      }
    }),
    /** Answers the current work after an outcome that leaves the actor's state in doubt. */
    abandon: enqueueActions(({ context, event, enqueue }) => {
      const work = context.current
      if (work === undefined) return
      let result: E.Either<AppendError, ReturnType<typeof appendResultOf>>
      if (event.type === 'WRITTEN' && event.outcome._tag === 'Duplicate') result = duplicateResult(context, event.outcome.original)
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
      const err = unavailable(`stream could not be loaded: ${String((event as { error?: unknown }).error)}`)
      context.current?.reply(E.left(err))
      for (const w of context.mailbox) w.reply(E.left(err))
    },
  },
}).createMachine({
  id: 'stream',
  context: ({ input }) => ({
    ...input,
    loaded: undefined,
    mailbox: [],
    current: undefined,
    prepared: undefined,
    rejection: undefined,
    conflicts: 0,
  }),
  invoke: { id: 'writer', src: 'writer', input: loadInput },
  on: { WORK: { actions: 'enqueue' } },
  initial: 'loading',
  states: {
    loading: {
      invoke: {
        src: 'load',
        input: loadInput,
        onDone: { target: 'ready', actions: [assign({ loaded: ({ event }) => event.output }), 'serve'] },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    ready: {
      on: {
        WORK: { actions: 'accept' },
        WRITTEN: [
          { guard: 'settledInPlace', actions: 'settle' },
          { guard: 'retryConflict', target: 'reloading', actions: 'countConflict' },
          { target: 'reloading', actions: 'abandon' },
        ],
        WRITE_FAILED: { target: 'reloading', actions: 'abandon' },
        PROBE: { target: 'probing' },
        PASSIVATE: { guard: 'isIdle', target: 'passivated' },
      },
    },
    probing: {
      invoke: {
        src: 'findDuplicate',
        input: ({ context }) => ({
          commit: { commitId: context.current?.commitId as Commit['commitId'], tenant: context.tenant, stream: context.stream, events: [] },
        }),
        onDone: {
          target: 'ready',
          actions: [
            ({ context, event }) => {
              const rejection = context.rejection ?? internal('no rejection recorded')
              context.current?.reply(event.output !== undefined ? duplicateResult(context, event.output) : E.left(rejection))
            },
            assign(cleared),
            'serve',
          ],
        },
        onError: {
          target: 'ready',
          actions: [({ context }) => context.current?.reply(E.left(context.rejection ?? internal('probe failed'))), assign(cleared), 'serve'],
        },
      },
    },
    reloading: {
      invoke: {
        src: 'load',
        input: loadInput,
        onDone: { target: 'ready', actions: [assign({ loaded: ({ event }) => event.output }), 'serve'] },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    passivated: { type: 'final' },
    failed: { type: 'final' },
  },
})

/** Applies a dispatch decision: one assign, the replies in order, then the effect. */
function perform(
  d: Dispatch,
  before: readonly Answer[],
  enqueue: {
    assign: (u: Partial<Context>) => void
    (fn: () => void): void
    sendTo: (to: 'writer', event: WriteRequest) => void
    raise: (event: StreamActorEvent) => void
  },
): void {
  enqueue.assign(d.next)
  for (const a of [...before, ...d.answers]) enqueue(() => a.work.reply(a.result))
  if (d.effect?._tag === 'Write') enqueue.sendTo('writer', { type: 'WRITE', commit: d.effect.commit, expectedLastOffset: d.effect.expectedLastOffset })
  else if (d.effect?._tag === 'Probe') enqueue.raise({ type: 'PROBE' })
}

export type StreamMachine = typeof streamMachine
