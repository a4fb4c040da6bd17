import * as E from 'fp-ts/lib/Either.js'
import { assign, fromPromise, setup } from 'xstate'
import type { Commit } from '../../src/domain/streams/event.js'
import type { StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { StreamModule } from '../../src/domain/streams/module.js'
import { appendResultOf } from '../../src/application/streams/appendResult.js'
import { type AppendError, internal, unavailable } from '../../src/application/streams/errors.js'
import type { AppendOutcome, StoredCommit } from '../../src/application/streams/ports.js'
import {
  type LoadedStream,
  type PrepareDeps,
  type PreparedCommit,
  prepareCommit,
  prepareDecision,
} from '../../src/application/streams/prepareCommit.js'
import { badRequest, tooLarge } from '../../src/domain/streams/errors.js'
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

interface Context extends StreamActorInput {
  readonly loaded: LoadedStream | undefined
  readonly mailbox: readonly Work[]
  readonly current: Work | undefined
  readonly prepared: E.Either<AppendError, PreparedCommit | undefined> | undefined
  readonly conflicts: number
}

export type StreamActorEvent = { readonly type: 'WORK'; readonly work: Work } | { readonly type: 'PASSIVATE' }

const prepareWork = (c: Context): E.Either<AppendError, PreparedCommit | undefined> => {
  const w = c.current
  if (w === undefined || c.loaded === undefined) return E.left(internal('stream actor has no work or no state'))
  try {
    return w.kind === 'append'
      ? prepareCommit(c.deps, c.module, w.command, w.commitId, c.loaded)
      : prepareDecision(c.deps, c.module, { tenant: w.tenant, stream: w.stream }, w.command, w.commitId, c.loaded)
  } catch (e) {
    // A module's evolve, invariant or decide threw: a defect in user code, not a reason to die.
    return E.left(internal(`domain module failed: ${e instanceof Error ? e.message : String(e)}`))
  }
}

const preparedCommit = (c: Context): PreparedCommit | undefined =>
  c.prepared !== undefined && E.isRight(c.prepared) ? c.prepared.right : undefined

const answer = (c: Context, r: E.Either<AppendError, ReturnType<typeof appendResultOf>>): void => c.current?.reply(r)

const rejection = (c: Context): AppendError =>
  c.prepared !== undefined && E.isLeft(c.prepared) ? c.prepared.left : internal('no rejection to report')

/** A commit that carries only the identity of the current work, for the duplicate probe. */
const probeCommit = (c: Context): Commit => ({
  commitId: c.current?.commitId as Commit['commitId'],
  tenant: c.tenant,
  stream: c.stream,
  events: [],
})

const duplicateReply = (c: Context, original: StoredCommit) =>
  original.commit.tenant === c.tenant && original.commit.stream === c.stream
    ? E.right(appendResultOf(original, true))
    : E.left(
        badRequest(`commitId "${original.commit.commitId}" is already used by another stream`, {
          commitId: original.commit.commitId,
        }),
      )

/**
 * One generic stream actor: hydrates its stream, then serves its mailbox in arrival order, one
 * commit at a time, against the state it holds. Effects (`load`, `append`, `findDuplicate`) are
 * supplied with `.provide()`; rules live in the pure core it calls.
 */
export const streamMachine = setup({
  types: {
    context: {} as Context,
    events: {} as StreamActorEvent,
    input: {} as StreamActorInput,
  },
  actors: {
    load: fromPromise<LoadedStream, { tenant: TenantId; stream: StreamId; module: StreamModule | undefined }>(
      async () => {
        throw new Error('load not provided')
      },
    ),
    append: fromPromise<AppendOutcome, { commit: Commit; expectedLastOffset: number }>(async () => {
      throw new Error('append not provided')
    }),
    findDuplicate: fromPromise<StoredCommit | undefined, { commit: Commit }>(async () => {
      throw new Error('findDuplicate not provided')
    }),
  },
  guards: {
    hasWork: ({ context }) => context.mailbox.length > 0,
    mailboxFull: ({ context }) => context.mailbox.length >= context.maxMailbox,
    isNoop: ({ context }) => context.prepared !== undefined && E.isRight(context.prepared) && context.prepared.right === undefined,
    isReady: ({ context }) => preparedCommit(context) !== undefined,
    shouldProbe: ({ context }) =>
      context.current?.clientCommitId === true &&
      context.prepared !== undefined &&
      E.isLeft(context.prepared) &&
      (context.prepared.left._tag === 'WrongExpectedVersion' || context.prepared.left._tag === 'ValidationFailed'),
    retrying: ({ context }) => context.current !== undefined,
  },
  actions: {
    enqueue: assign({
      mailbox: ({ context, event }) => (event.type === 'WORK' ? [...context.mailbox, event.work] : context.mailbox),
    }),
    refuseBusy: ({ event }) => {
      if (event.type === 'WORK') {
        event.work.reply(E.left(unavailable('stream is busy: its mailbox is full; retry with the same commitId')))
      }
    },
    takeNext: assign({
      current: ({ context }) => context.mailbox[0],
      mailbox: ({ context }) => context.mailbox.slice(1),
      conflicts: 0,
    }),
    prepare: assign({ prepared: ({ context }) => prepareWork(context) }),
    done: assign({ current: undefined, prepared: undefined }),
    replyRejected: ({ context }) => answer(context, E.left(rejection(context))),
    replyNoop: ({ context }) => {
      const h = context.loaded?.head
      answer(
        context,
        E.right({ tenant: context.tenant, stream: context.stream, offset: h?.lastOffset ?? 0, fromVersion: (h?.version ?? 0) + 1, toVersion: h?.version ?? 0, eventIds: [] }),
      )
    },
    failAll: ({ context, event }) => {
      const err = unavailable(`stream could not be loaded: ${String((event as { error?: unknown }).error)}`)
      if (context.current !== undefined) context.current.reply(E.left(err))
      for (const w of context.mailbox) w.reply(E.left(err))
    },
  },
}).createMachine({
  id: 'stream',
  context: ({ input }) => ({ ...input, loaded: undefined, mailbox: [], current: undefined, prepared: undefined, conflicts: 0 }),
  on: {
    WORK: [{ guard: 'mailboxFull', actions: 'refuseBusy' }, { actions: 'enqueue' }],
  },
  initial: 'loading',
  states: {
    loading: {
      invoke: {
        src: 'load',
        input: ({ context }) => ({ tenant: context.tenant, stream: context.stream, module: context.module }),
        onDone: { target: 'idle', actions: assign({ loaded: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    idle: {
      always: { guard: 'hasWork', target: 'deciding', actions: 'takeNext' },
      on: { PASSIVATE: { target: 'passivated' } },
    },
    deciding: {
      entry: 'prepare',
      always: [
        { guard: 'isNoop', target: 'idle', actions: ['replyNoop', 'done'] },
        { guard: 'isReady', target: 'writing' },
        { guard: 'shouldProbe', target: 'probing' },
        { target: 'idle', actions: ['replyRejected', 'done'] },
      ],
    },
    writing: {
      invoke: {
        src: 'append',
        input: ({ context }) => ({
          commit: (preparedCommit(context) as PreparedCommit).commit,
          expectedLastOffset: context.loaded?.head.lastOffset ?? 0,
        }),
        onDone: [
          {
            guard: ({ event }) => event.output._tag === 'Appended',
            target: 'idle',
            actions: [
              assign({
                loaded: ({ context, event }) => {
                  const p = preparedCommit(context) as PreparedCommit
                  const last = p.commit.events[p.commit.events.length - 1]
                  const offset = event.output._tag === 'Appended' ? event.output.offset : 0
                  return { head: { version: last?.version ?? 0, lastOffset: offset }, state: p.nextState }
                },
              }),
              ({ context, event }) => {
                const p = preparedCommit(context) as PreparedCommit
                const offset = event.output._tag === 'Appended' ? event.output.offset : 0
                answer(context, E.right(appendResultOf({ offset, commit: p.commit }, false)))
              },
              'done',
            ],
          },
          {
            guard: ({ event }) => event.output._tag === 'Duplicate',
            target: 'reloading',
            actions: [
              ({ context, event }) => {
                if (event.output._tag === 'Duplicate') answer(context, duplicateReply(context, event.output.original))
              },
              'done',
            ],
          },
          {
            guard: ({ context, event }) => event.output._tag === 'Conflict' && context.conflicts < context.maxConflictRetries,
            target: 'reloading',
            actions: assign({ conflicts: ({ context }) => context.conflicts + 1 }),
          },
          {
            guard: ({ event }) => event.output._tag === 'TooLarge',
            target: 'idle',
            actions: [
              ({ context, event }) => {
                if (event.output._tag === 'TooLarge') answer(context, E.left(tooLarge(event.output.size, event.output.max)))
              },
              'done',
            ],
          },
          {
            target: 'reloading',
            actions: [
              ({ context, event }) =>
                answer(
                  context,
                  E.left(
                    event.output._tag === 'Unavailable'
                      ? unavailable(event.output.message, { commitId: context.current?.commitId })
                      : unavailable('stream is contended: other writers kept winning; retry', { commitId: context.current?.commitId }),
                  ),
                ),
              'done',
            ],
          },
        ],
        onError: {
          target: 'reloading',
          actions: [
            ({ context, event }) => answer(context, E.left(internal(`append failed: ${String(event.error)}`))),
            'done',
          ],
        },
      },
    },
    probing: {
      invoke: {
        src: 'findDuplicate',
        input: ({ context }) => ({ commit: probeCommit(context) }),
        onDone: [
          {
            guard: ({ event }) => event.output !== undefined,
            target: 'idle',
            actions: [
              ({ context, event }) => {
                if (event.output !== undefined) answer(context, duplicateReply(context, event.output))
              },
              'done',
            ],
          },
          { target: 'idle', actions: ['replyRejected', 'done'] },
        ],
        onError: { target: 'idle', actions: ['replyRejected', 'done'] },
      },
    },
    reloading: {
      invoke: {
        src: 'load',
        input: ({ context }) => ({ tenant: context.tenant, stream: context.stream, module: context.module }),
        onDone: [
          { guard: 'retrying', target: 'deciding', actions: assign({ loaded: ({ event }) => event.output }) },
          { target: 'idle', actions: assign({ loaded: ({ event }) => event.output }) },
        ],
        onError: { target: 'failed', actions: 'failAll' },
      },
    },
    passivated: { type: 'final' },
    failed: { type: 'final' },
  },
})

export type StreamMachine = typeof streamMachine
