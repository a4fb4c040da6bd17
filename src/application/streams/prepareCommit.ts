import * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import type { Commit, ProposedEvent } from '../../domain/streams/event.js'
import { checkExpectedVersion, type ExpectedVersion } from '../../domain/streams/expectedVersion.js'
import type { CommitId } from '../../domain/streams/ids.js'
import { applyEvents, type StreamModule } from '../../domain/streams/module.js'
import { numberEvents } from '../../domain/streams/numberEvents.js'
import { badRequest, type DomainError } from '../../domain/streams/errors.js'
import type { Clock, IdGenerator, StreamHead } from './ports.js'

/** A stream as its actor holds it: where it stands and, for module streams, the folded state. */
export interface LoadedStream {
  readonly head: StreamHead
  readonly state: unknown
}

/** A commit ready to append, and the state it leads to. */
export interface PreparedCommit {
  readonly commit: Commit
  readonly nextState: unknown
}

export interface PrepareDeps {
  readonly clock: Clock
  readonly ids: IdGenerator
}

const prepare = (
  deps: PrepareDeps,
  module: StreamModule | undefined,
  cmd: AppendCommand,
  commitId: CommitId,
  expected: ExpectedVersion,
  events: readonly ProposedEvent[],
  loaded: LoadedStream,
): E.Either<DomainError, PreparedCommit> => {
  const ok = checkExpectedVersion(expected, loaded.head.version)
  if (E.isLeft(ok)) return ok
  const recorded = numberEvents(events, loaded.head.version, deps.clock.now(), () => deps.ids.eventId())
  const commit: Commit = { commitId, tenant: cmd.tenant, stream: cmd.stream, events: recorded }
  if (module === undefined) return E.right({ commit, nextState: loaded.state })
  return E.map((nextState: unknown) => ({ commit, nextState }))(applyEvents(module, loaded.state, recorded))
}

/**
 * Turns an append command into a commit against the stream as loaded: checks `expectedVersion`,
 * numbers the events and, for module streams, runs codecs and invariants. Pure given the clock
 * and id generator. `commitId` is fixed by the caller so retries after a conflict keep it.
 */
export const prepareCommit = (
  deps: PrepareDeps,
  module: StreamModule | undefined,
  cmd: AppendCommand,
  commitId: CommitId,
  loaded: LoadedStream,
): E.Either<DomainError, PreparedCommit> =>
  prepare(deps, module, cmd, commitId, cmd.expectedVersion, cmd.events, loaded)

/**
 * Runs a module's decider against the loaded state and prepares the commit it decides. An
 * empty decision (the command is already applied) yields `undefined`: nothing to append.
 */
export const prepareDecision = (
  deps: PrepareDeps,
  module: StreamModule | undefined,
  cmd: Omit<AppendCommand, 'events' | 'expectedVersion'>,
  command: unknown,
  commitId: CommitId,
  loaded: LoadedStream,
): E.Either<DomainError, PreparedCommit | undefined> => {
  if (module?.decide === undefined) {
    return E.left(badRequest(`stream category of "${cmd.stream}" has no decider; append events instead`))
  }
  const decided = module.decide(command, loaded.state)
  if (E.isLeft(decided)) return decided
  if (decided.right.length === 0) return E.right(undefined)
  const full: AppendCommand = { ...cmd, events: decided.right, expectedVersion: loaded.head.version as AppendCommand['expectedVersion'] }
  return prepare(deps, module, full, commitId, full.expectedVersion, decided.right, loaded)
}
