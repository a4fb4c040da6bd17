import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import type { EventId, Version } from './ids.js'
import type { Metadata, ProposedEvent, RecordedEvent } from './event.js'
import { type DomainError, type ValidationFailure, validationFailed } from './errors.js'

/** Payload codecs by event type. Codecs should not transform: the log stores what was sent. */
export type EventCodecs = Readonly<Record<string, t.Mixed>>

/** The typed event union a module's codecs describe. */
export type EventOf<M extends EventCodecs> = {
  [K in keyof M & string]: { readonly type: K; readonly payload: t.TypeOf<M[K]> }
}[keyof M & string]

/** A recorded event of a module, typed by its codecs. */
export type RecordedEventOf<M extends EventCodecs> = EventOf<M> & {
  readonly id: EventId
  readonly version: Version
  readonly timestamp: Date
  readonly metadata?: Metadata
}

/** A rule over the folded state; checked after every event of a commit. */
export interface Invariant<S> {
  readonly name: string
  /** Returns a message when the state breaks the rule, `undefined` when it holds. */
  readonly check: (state: S) => string | undefined
}

/**
 * A domain module: the rules of one stream category (the part of the stream id before the
 * first `-`). `evolve` must be total and pure; `decide` is the decider for library commands
 * and returns `[]` for a command that is already applied.
 */
export interface ModuleDefinition<S, M extends EventCodecs, C = never> {
  readonly category: string
  /** Bump when `evolve` or the state shape changes; snapshots of other versions are ignored. */
  readonly stateVersion: number
  readonly events: M
  readonly initialState: S
  readonly evolve: (state: S, event: RecordedEventOf<M>) => S
  readonly invariants?: readonly Invariant<S>[]
  readonly decide?: (command: C, state: S) => E.Either<DomainError, readonly EventOf<M>[]>
}

/** A module with its types erased, as the registry and the stream actor hold it. */
export interface StreamModule {
  readonly category: string
  readonly stateVersion: number
  readonly initialState: unknown
  readonly evolve: (state: unknown, event: RecordedEvent) => unknown
  /** Checks the payload codec of one proposed event. */
  readonly validate: (event: ProposedEvent, index: number) => ValidationFailure | undefined
  readonly check: (state: unknown) => readonly ValidationFailure[]
  readonly decide?: (command: unknown, state: unknown) => E.Either<DomainError, readonly ProposedEvent[]>
}

const pathOf = (e: t.ValidationError): string =>
  e.context
    .map((c) => c.key)
    .filter((k) => k !== '')
    .join('.')

/** Erases a typed module definition for registration. The only place its types are widened. */
export const defineModule = <S, M extends EventCodecs, C = never>(def: ModuleDefinition<S, M, C>): StreamModule => {
  const validate = (event: ProposedEvent, index: number): ValidationFailure | undefined => {
    const codec = Object.prototype.hasOwnProperty.call(def.events, event.type) ? def.events[event.type] : undefined
    if (codec === undefined) {
      return { path: `events[${index}].type`, message: `unknown event type "${event.type}" for category "${def.category}"` }
    }
    const r = codec.decode(event.payload)
    if (E.isRight(r)) return undefined
    const first = r.left[0]
    const at = first === undefined ? '' : pathOf(first)
    return {
      path: `events[${index}].payload${at === '' ? '' : '.' + at}`,
      message: first?.message ?? `payload is not a valid ${event.type}`,
    }
  }
  const check = (state: unknown): readonly ValidationFailure[] =>
    (def.invariants ?? []).flatMap((inv) => {
      const m = inv.check(state as S)
      return m === undefined ? [] : [{ path: `invariant:${inv.name}`, message: m }]
    })
  const decide = def.decide
  return {
    category: def.category,
    stateVersion: def.stateVersion,
    initialState: def.initialState,
    evolve: (state, event) => def.evolve(state as S, event as unknown as RecordedEventOf<M>),
    validate,
    check,
    ...(decide !== undefined
      ? { decide: (command: unknown, state: unknown) => decide(command as C, state as S) as E.Either<DomainError, readonly ProposedEvent[]> }
      : {}),
  }
}

/**
 * Validates and folds `events` (already numbered) onto `state`: payload codecs first, then the
 * invariants after each event. Returns the new state, or every failure found as
 * `VALIDATION_FAILED`. Pure; the caller's state is never changed.
 */
export const applyEvents = (
  module: StreamModule,
  state: unknown,
  events: readonly RecordedEvent[],
): E.Either<DomainError, unknown> => {
  const failures: ValidationFailure[] = []
  events.forEach((e, i) => {
    const f = module.validate(e, i)
    if (f !== undefined) failures.push(f)
  })
  if (failures.length > 0) return E.left(validationFailed('events do not match the stream category’s codecs', failures))
  let s = state
  for (let i = 0; i < events.length; i++) {
    s = module.evolve(s, events[i] as RecordedEvent)
    const broken = module.check(s)
    if (broken.length > 0) {
      return E.left(
        validationFailed(
          `events[${i}] (${(events[i] as RecordedEvent).type}) breaks ${broken.map((b) => b.path.replace('invariant:', '')).join(', ')}`,
          broken.map((b) => ({ ...b, path: `events[${i}]:${b.path}` })),
        ),
      )
    }
  }
  return E.right(s)
}

/** Modules by category. Streams whose category has no module accept any well-formed event. */
export type ModuleRegistry = ReadonlyMap<string, StreamModule>

export const moduleRegistry = (modules: readonly StreamModule[]): ModuleRegistry => {
  const m = new Map<string, StreamModule>()
  for (const mod of modules) {
    if (m.has(mod.category)) throw new Error(`two modules registered for category "${mod.category}"`)
    m.set(mod.category, mod)
  }
  return m
}

