import { assign, fromCallback, fromPromise, type EventObject, setup, type SnapshotFrom } from 'xstate'
import {
  backoffMs,
  noControl,
  type ProjectionControl,
  type ProjectionState,
  type ReadModelPointer,
  rebuildWanted,
  rebuiltPointer,
} from '../../src/domain/projections/operations.js'

export interface ProjectionActorInput {
  readonly name: string
  readonly version: number
}

/** Which read model a fold writes: the one serving reads, or the next generation being rebuilt. */
export type FoldRole = 'active' | 'rebuild'

/** The `fold` actor's input. An `active` fold with `idle` set does nothing (its fold version is gone). */
export interface FoldInput {
  readonly role: FoldRole
  readonly name: string
  readonly pointer: ReadModelPointer
  readonly idle?: boolean
}

export interface SwitchInput {
  readonly name: string
  readonly from: ReadModelPointer
  readonly to: ReadModelPointer
}

export type ProjectionActorEvent =
  | { readonly type: 'CONTROL'; readonly control: ProjectionControl }
  | { readonly type: 'PROGRESS'; readonly role: FoldRole; readonly checkpoint: number; readonly lag: number; readonly folded: number }
  | { readonly type: 'POISON'; readonly role: FoldRole; readonly offset: number; readonly message: string }
  | { readonly type: 'FAILURE'; readonly role: FoldRole; readonly message: string }
  | { readonly type: 'LEASE_LOST' }
  | { readonly type: 'STOP' }

interface Progress {
  readonly checkpoint: number
  readonly lag: number
  readonly folded: number
  /** Whether the fold has reported at all since it started. */
  readonly reported: boolean
}

const none: Progress = { checkpoint: 0, lag: 0, folded: 0, reported: false }

interface Context {
  readonly input: ProjectionActorInput
  readonly pointer: ReadModelPointer | undefined
  readonly control: ProjectionControl
  readonly active: Progress
  readonly rebuild: (Progress & { readonly id: string; readonly fromOffset: number; readonly to: ReadModelPointer }) | undefined
  readonly lastError: { readonly message: string; readonly offset?: number; readonly at: number } | undefined
  readonly attempts: number
  /** `control.retry` when the projection was parked: a later resume bumps it. */
  readonly parkedAtRetry: number
}

const wanted = (c: Context) => (c.pointer === undefined ? undefined : rebuildWanted(c.input.version, c.pointer, c.control))

/**
 * One projection's lifecycle, the same on every processor instance:
 *
 * - `standby` until this instance holds the projection's lease (at most one instance folds it);
 * - `leader.starting` (find the read model and the operators' wishes) → `running.catchingUp` →
 *   `running.live` (and back, as lag comes and goes);
 * - `paused` while an operator says so; `rebuilding` folds the next generation beside the live one,
 *   then `switching` points reads at it, without the read model ever going offline;
 * - `failed.backoff` retries a transient failure after 250 ms doubling to 30 s; `failed.parked`
 *   holds a poison event's offset and error until an operator resumes (or rebuilds).
 *
 * Effects are named here and supplied with `.provide()`: `acquireLease`, `holdLease`,
 * `watchControl`, `prepare`, `fold` and `switchOver`.
 */
export const projectionMachine = setup({
  types: {
    context: {} as Context,
    events: {} as ProjectionActorEvent,
    input: {} as ProjectionActorInput,
  },
  actors: {
    /** Resolves once this instance holds the lease. */
    acquireLease: fromPromise<void, { readonly name: string }>(async () => {
      throw new Error('acquireLease not provided')
    }),
    /** Renews the lease while running; sends `LEASE_LOST` if it cannot. */
    holdLease: fromCallback<EventObject, { readonly name: string }>(() => undefined),
    /** Sends `CONTROL` with the operators' wishes, now and on every change. */
    watchControl: fromCallback<EventObject, { readonly name: string }>(() => undefined),
    /** Finds (or creates) the read-model pointer and reads the control record. */
    prepare: fromPromise<{ readonly pointer: ReadModelPointer; readonly control: ProjectionControl }, ProjectionActorInput>(async () => {
      throw new Error('prepare not provided')
    }),
    /** Folds the log into one read model; sends `PROGRESS`, `POISON` or `FAILURE`. */
    fold: fromCallback<EventObject, FoldInput>(() => undefined),
    /** Points reads at the rebuilt generation and retires the old one; resolves with the new pointer. */
    switchOver: fromPromise<ReadModelPointer, SwitchInput>(async () => {
      throw new Error('switchOver not provided')
    }),
  },
  guards: {
    paused: ({ context }) => context.control.paused,
    /** The read model was built by a newer version of the fold than this instance runs. */
    outdated: ({ context }) => context.pointer !== undefined && context.pointer.version > context.input.version,
    rebuildWanted: ({ context }) => wanted(context) !== undefined,
    caughtUp: ({ context }) => context.active.reported && context.active.lag === 0,
    behind: ({ context }) => context.active.lag > 0,
    rebuildCaughtUp: ({ context }) => context.rebuild !== undefined && context.rebuild.reported && context.rebuild.lag === 0,
    rebuildChanged: ({ context }) => {
      const w = wanted(context)
      return context.rebuild !== undefined && (w === undefined || w.id !== context.rebuild.id || w.fromOffset !== context.rebuild.fromOffset)
    },
    /** A rebuild was asked for that is not the one that failed (if one did). */
    newRebuild: ({ context }) => {
      const w = wanted(context)
      return w !== undefined && (context.rebuild === undefined || w.id !== context.rebuild.id || w.fromOffset !== context.rebuild.fromOffset)
    },
    resumed: ({ context }) => context.control.retry !== context.parkedAtRetry,
  },
  delays: {
    backoff: ({ context }) => backoffMs(context.attempts),
  },
  actions: {
    recordFailure: assign(({ context, event }) => ({
      lastError:
        event.type === 'POISON'
          ? { message: `${event.role === 'rebuild' ? 'rebuild: ' : ''}${event.message}`, offset: event.offset, at: Date.now() }
          : event.type === 'FAILURE'
            ? { message: `${event.role === 'rebuild' ? 'rebuild: ' : ''}${event.message}`, at: Date.now() }
            : context.lastError,
      parkedAtRetry: context.control.retry,
    })),
  },
}).createMachine({
  id: 'projection',
  context: ({ input }) => ({
    input,
    pointer: undefined,
    control: noControl,
    active: none,
    rebuild: undefined,
    lastError: undefined,
    attempts: 0,
    parkedAtRetry: 0,
  }),
  initial: 'standby',
  on: { STOP: '.stopped' },
  states: {
    standby: {
      invoke: { src: 'acquireLease', input: ({ context }) => ({ name: context.input.name }), onDone: 'leader', onError: 'waiting' },
    },
    /** NATS failed while asking for the lease: ask again a little later. */
    waiting: { after: { 1000: 'standby' } },
    leader: {
      invoke: [
        { src: 'holdLease', input: ({ context }) => ({ name: context.input.name }) },
        { src: 'watchControl', input: ({ context }) => ({ name: context.input.name }) },
      ],
      on: {
        LEASE_LOST: { target: 'standby', actions: assign({ active: none, rebuild: undefined }) },
        CONTROL: { actions: assign({ control: ({ event }) => event.control }) },
      },
      initial: 'starting',
      states: {
        starting: {
          entry: assign({ active: none, rebuild: undefined }),
          invoke: {
            src: 'prepare',
            input: ({ context }) => context.input,
            onDone: { target: 'deciding', actions: assign({ pointer: ({ event }) => event.output.pointer, control: ({ event }) => event.output.control }) },
            onError: {
              target: 'failed.backoff',
              actions: assign({ lastError: ({ event }) => ({ message: event.error instanceof Error ? event.error.message : String(event.error), at: Date.now() }) }),
            },
          },
        },
        deciding: {
          always: [
            {
              // During a rolling upgrade an old instance must neither fold into nor rebuild back a newer model.
              guard: 'outdated',
              target: 'failed.parked',
              actions: assign(({ context }) => ({
                lastError: {
                  message: `the read model is version ${context.pointer?.version ?? '?'} and this instance runs version ${context.input.version}: not folding`,
                  at: Date.now(),
                },
                parkedAtRetry: context.control.retry,
              })),
            },
            { guard: 'paused', target: 'paused' },
            { guard: 'rebuildWanted', target: 'rebuilding' },
            { target: 'running' },
          ],
        },
        running: {
          invoke: {
            src: 'fold',
            input: ({ context }) => ({ role: 'active' as const, name: context.input.name, pointer: context.pointer as ReadModelPointer }),
          },
          always: [{ guard: 'paused', target: 'paused' }, { guard: 'rebuildWanted', target: 'rebuilding' }],
          on: {
            PROGRESS: {
              actions: assign({ active: ({ event }) => ({ checkpoint: event.checkpoint, lag: event.lag, folded: event.folded, reported: true }), attempts: 0 }),
            },
            POISON: { target: 'failed.parked', actions: 'recordFailure' },
            FAILURE: { target: 'failed.backoff', actions: 'recordFailure' },
          },
          initial: 'catchingUp',
          states: {
            catchingUp: { always: { guard: 'caughtUp', target: 'live' } },
            live: { always: { guard: 'behind', target: 'catchingUp' } },
          },
        },
        paused: {
          always: { guard: ({ context }) => !context.control.paused, target: 'starting' },
        },
        rebuilding: {
          entry: assign({
            rebuild: ({ context }) => {
              const w = wanted(context) as { id: string; fromOffset: number }
              const from = context.pointer as ReadModelPointer
              return { ...none, id: w.id, fromOffset: w.fromOffset, to: rebuiltPointer(context.input.version, from, w) }
            },
          }),
          invoke: [
            {
              src: 'fold',
              input: ({ context }) => ({
                role: 'active' as const,
                name: context.input.name,
                pointer: context.pointer as ReadModelPointer,
                idle: (context.pointer as ReadModelPointer).version !== context.input.version,
              }),
            },
            {
              src: 'fold',
              input: ({ context }) => ({ role: 'rebuild' as const, name: context.input.name, pointer: context.rebuild?.to as ReadModelPointer }),
            },
          ],
          always: [
            { guard: 'paused', target: 'paused' },
            { guard: 'rebuildChanged', target: 'starting' },
            { guard: 'rebuildCaughtUp', target: 'switching' },
          ],
          on: {
            PROGRESS: {
              actions: assign(({ context, event }) =>
                event.role === 'active'
                  ? { active: { checkpoint: event.checkpoint, lag: event.lag, folded: event.folded, reported: true }, attempts: 0 }
                  : { rebuild: context.rebuild === undefined ? undefined : { ...context.rebuild, checkpoint: event.checkpoint, lag: event.lag, folded: event.folded, reported: true }, attempts: 0 },
              ),
            },
            POISON: { target: 'failed.parked', actions: 'recordFailure' },
            FAILURE: { target: 'failed.backoff', actions: 'recordFailure' },
          },
        },
        switching: {
          invoke: {
            src: 'switchOver',
            input: ({ context }) => ({ name: context.input.name, from: context.pointer as ReadModelPointer, to: context.rebuild?.to as ReadModelPointer }),
            onDone: { target: 'starting', actions: assign({ pointer: ({ event }) => event.output }) },
            onError: {
              target: 'failed.backoff',
              actions: assign({ lastError: ({ event }) => ({ message: `switch-over: ${event.error instanceof Error ? event.error.message : String(event.error)}`, at: Date.now() }) }),
            },
          },
        },
        failed: {
          initial: 'backoff',
          states: {
            backoff: {
              after: { backoff: { target: '#projection.leader.starting', actions: assign({ attempts: ({ context }) => context.attempts + 1 }) } },
            },
            parked: {
              always: [
                { guard: 'resumed', target: '#projection.leader.starting' },
                { guard: 'newRebuild', target: '#projection.leader.starting' },
              ],
            },
          },
        },
      },
    },
    stopped: { type: 'final' },
  },
})

export type ProjectionSnapshot = SnapshotFrom<typeof projectionMachine>

/** The state a status report shows for a snapshot of the machine. */
export const stateOf = (s: ProjectionSnapshot): ProjectionState => {
  if (s.matches('stopped')) return 'stopped'
  if (s.matches('standby') || s.matches('waiting')) return 'standby'
  if (s.matches({ leader: 'running' })) return s.matches({ leader: { running: 'live' } }) ? 'live' : 'catching-up'
  if (s.matches({ leader: 'paused' })) return 'paused'
  if (s.matches({ leader: 'rebuilding' }) || s.matches({ leader: 'switching' })) return 'rebuilding'
  if (s.matches({ leader: 'failed' })) return 'failed'
  return 'starting'
}
