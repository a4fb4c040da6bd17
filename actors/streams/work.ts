import type * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../src/domain/streams/appendRequest.js'
import type { CommitId, StreamId, TenantId } from '../../src/domain/streams/ids.js'
import type { AppendError } from '../../src/application/streams/errors.js'
import type { AppendResult } from '../../src/application/streams/appendResult.js'

/**
 * What every piece of work carries for observability: the request's id and the trace context of
 * the actor's span, written as the commit's headers (it is a `RequestContext`).
 */
interface Traced {
  readonly requestId?: string
  readonly traceparent?: string
}

/** How a stream actor answers one piece of work; called exactly once. */
export type Reply = (result: E.Either<AppendError, AppendResult>) => void

/** A piece of work in a stream actor's mailbox. */
export type Work =
  | {
      readonly kind: 'append'
      readonly command: AppendCommand
      /** Fixed when the work is created, so conflict retries and timeouts reuse it. */
      readonly commitId: CommitId
      /** True when the client chose the commitId: a rejection then first looks for a duplicate. */
      readonly clientCommitId: boolean
      readonly reply: Reply
    } & Traced
  | ({
      readonly kind: 'execute'
      readonly tenant: TenantId
      readonly stream: StreamId
      readonly command: unknown
      readonly commitId: CommitId
      readonly clientCommitId: boolean
      readonly reply: Reply
    } & Traced)
