import type * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import type { AppendResult } from './appendResult.js'
import type { AppendError } from './errors.js'
import type { RequestContext } from '../observability/ports.js'

/**
 * What serves validated appends (the stream supervisor in production). Never rejects: every
 * failure is a value. Appends to one stream are served in the order they were submitted.
 */
export interface Appender {
  append(command: AppendCommand, caller?: AppendCaller): Promise<E.Either<AppendError, AppendResult>>
}

/**
 * Who asked for an append, as far as the door knows. `principal`: the identity's token of its
 * reply inbox (`_INBOX.<tenant>.<principal>.…`: an API key's id, `_op` for the operator) on a
 * request; absent for ingest (a publish carries no reply) and for the library's own calls.
 */
export interface AppendCaller {
  readonly principal?: string
  /**
   * Written by the auth-mode guard, before the append is made, with the id of a policy `warn` rule
   * that let the append through: a door may tell its client (the NATS append reply's
   * `AllSource-Policy-Warning` header) once the append succeeds. A field rather than a callback,
   * so a request costs no closure.
   */
  policyWarning?: string | undefined
  /**
   * The request's id and trace context, carried through the stream actor into the commit's
   * headers (`AllSource-Request-Id`, `traceparent`); absent for ingest.
   */
  readonly context?: RequestContext
}
