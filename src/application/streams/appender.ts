import type * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import type { AppendResult } from './appendResult.js'
import type { AppendError } from './errors.js'

/**
 * What serves validated appends (the stream supervisor in production). Never rejects: every
 * failure is a value. Appends to one stream are served in the order they were submitted.
 */
export interface Appender {
  append(command: AppendCommand): Promise<E.Either<AppendError, AppendResult>>
}
