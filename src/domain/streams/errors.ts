/**
 * Expected failures of the write path, as values. Adapters map each tag to a wire code in one
 * table (`src/adapters/nats/errorCodes.ts`); nothing here knows about HTTP or NATS.
 */

export interface BadRequest {
  readonly _tag: 'BadRequest'
  readonly message: string
  readonly details?: Readonly<Record<string, unknown>>
}

export interface InvalidId {
  readonly _tag: 'InvalidId'
  readonly message: string
  /** Which field held the id: `tenant`, `stream`, `events[2].id`, `commitId`, … */
  readonly field: string
}

export interface ValidationFailure {
  /** Where the problem is (`events[0].payload.amount`) or which invariant broke. */
  readonly path: string
  readonly message: string
}

export interface ValidationFailed {
  readonly _tag: 'ValidationFailed'
  readonly message: string
  readonly failures: readonly ValidationFailure[]
}

export interface WrongExpectedVersion {
  readonly _tag: 'WrongExpectedVersion'
  /** What the client sent: a number or `"no_stream"` / `"exists"`. */
  readonly expected: number | string
  /** The stream's current version. */
  readonly actual: number
}

export interface TooLarge {
  readonly _tag: 'TooLarge'
  readonly message: string
  readonly size: number
  readonly max: number
  readonly unit: 'bytes' | 'events'
}

export type DomainError = BadRequest | InvalidId | ValidationFailed | WrongExpectedVersion | TooLarge

export const badRequest = (message: string, details?: Record<string, unknown>): DomainError =>
  details === undefined ? { _tag: 'BadRequest', message } : { _tag: 'BadRequest', message, details }

export const invalidId = (field: string, message: string): DomainError => ({
  _tag: 'InvalidId',
  field,
  message,
})

export const validationFailed = (message: string, failures: readonly ValidationFailure[]): DomainError => ({
  _tag: 'ValidationFailed',
  message,
  failures,
})

export const wrongExpectedVersion = (expected: number | string, actual: number): DomainError => ({
  _tag: 'WrongExpectedVersion',
  expected,
  actual,
})

export const tooLarge = (size: number, max: number, unit: 'bytes' | 'events' = 'bytes'): DomainError => ({
  _tag: 'TooLarge',
  message:
    unit === 'bytes'
      ? `commit is ${size} bytes; the server accepts at most ${max}`
      : `commit has ${size} events; at most ${max} are allowed per commit`,
  size,
  max,
  unit,
})
