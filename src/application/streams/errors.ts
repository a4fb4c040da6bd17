import type { DomainError } from '../../domain/streams/errors.js'

/** The log or the server cannot take the request now; safe to retry with the same commitId. */
export interface Unavailable {
  readonly _tag: 'Unavailable'
  readonly message: string
  readonly details?: Readonly<Record<string, unknown>>
}

/** A defect (a bug or a broken invariant of the system itself), not the caller's fault. */
export interface Internal {
  readonly _tag: 'Internal'
  readonly message: string
}

/** A thing asked for does not exist (an unknown projection or key). */
export interface NotFound {
  readonly _tag: 'NotFound'
  readonly message: string
}

/** Every way a request can fail, as a value. */
export type AppendError = DomainError | Unavailable | Internal | NotFound

export const unavailable = (message: string, details?: Record<string, unknown>): AppendError =>
  details === undefined ? { _tag: 'Unavailable', message } : { _tag: 'Unavailable', message, details }

export const internal = (message: string): AppendError => ({ _tag: 'Internal', message })

export const notFound = (message: string): AppendError => ({ _tag: 'NotFound', message })

/**
 * A domain module's code (`evolve`, an invariant, `decide`) threw: a defect in user code, answered
 * INTERNAL wherever it happens (while loading a stream as while appending), never as an outage.
 */
export class ModuleFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`domain module failed: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'ModuleFailed'
  }
}
