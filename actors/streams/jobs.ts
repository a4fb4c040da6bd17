import type * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../src/domain/streams/appendRequest.js'
import type { CommitId, StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { AppendResult } from '../../src/application/streams/appendResult.js'
import type { AppendError } from '../../src/application/streams/errors.js'
import type { Work } from './work.js'

/** What a stream actor answers a piece of work with. */
export type AppendReply = E.Either<AppendError, AppendResult>

/**
 * One request's work as the actor sees it, answered exactly once (by the actor, or here if the
 * actor died). A class, so a request costs no closures: its `reply` is a method.
 */
abstract class Job {
  private answered = false
  constructor(
    private readonly resolve: (r: AppendReply) => void,
    private readonly outstanding: Set<Work>,
    private readonly onAnswered: () => void,
  ) {}

  reply(r: AppendReply): void {
    if (this.answered) return
    this.answered = true
    this.outstanding.delete(this as unknown as Work)
    this.resolve(r)
    this.onAnswered()
  }
}

export class AppendJob extends Job {
  readonly kind = 'append' as const
  constructor(
    resolve: (r: AppendReply) => void,
    outstanding: Set<Work>,
    onAnswered: () => void,
    readonly command: AppendCommand,
    readonly commitId: CommitId,
    readonly clientCommitId: boolean,
    readonly requestId: string | undefined,
    readonly traceparent: string | undefined,
  ) {
    super(resolve, outstanding, onAnswered)
  }
}

export class ExecuteJob extends Job {
  readonly kind = 'execute' as const
  constructor(
    resolve: (r: AppendReply) => void,
    outstanding: Set<Work>,
    onAnswered: () => void,
    readonly tenant: TenantId,
    readonly stream: StreamId,
    readonly command: unknown,
    readonly commitId: CommitId,
    readonly clientCommitId: boolean,
  ) {
    super(resolve, outstanding, onAnswered)
  }
}
