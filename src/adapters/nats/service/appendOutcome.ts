import type * as E from 'fp-ts/lib/Either.js'
import { toWireError, type WireFailure } from './errorCodes.js'

/** An append's outcome as metrics count it: `ok`, `duplicate`, or the contract's error code (and the refused limit of a QUOTA_EXCEEDED). */
export interface AppendOutcomeLabel {
  readonly outcome: string
  readonly limit?: string
}

const ok: AppendOutcomeLabel = { outcome: 'ok' }
const duplicate: AppendOutcomeLabel = { outcome: 'duplicate' }

/** The outcome of an append's answer; cheap for successes (no allocation). */
export const appendOutcomeOf = (r: E.Either<WireFailure, unknown>): AppendOutcomeLabel => {
  if (r._tag === 'Right') return (r.right as { duplicate?: unknown } | null)?.duplicate === true ? duplicate : ok
  const wire = toWireError(r.left)
  const quota = (wire as { quota?: unknown }).quota
  return typeof quota === 'string' ? { outcome: wire.code, limit: quota } : { outcome: wire.code }
}
