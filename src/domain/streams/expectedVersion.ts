import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { Version } from './ids.js'
import { type DomainError, wrongExpectedVersion } from './errors.js'

/**
 * The optimistic-concurrency condition of an append: the stream's current version as a number
 * (0 = empty), `"any"` (no check), `"no_stream"` (must be empty) or `"exists"` (must not be).
 */
export const ExpectedVersion = t.union([
  Version,
  t.literal('any'),
  t.literal('no_stream'),
  t.literal('exists'),
])
export type ExpectedVersion = t.TypeOf<typeof ExpectedVersion>

/** Checks `expected` against the stream's `actual` version. Pure and total. */
export const checkExpectedVersion = (
  expected: ExpectedVersion,
  actual: number,
): E.Either<DomainError, void> => {
  switch (expected) {
    case 'any':
      return E.right(undefined)
    case 'no_stream':
      return actual === 0 ? E.right(undefined) : E.left(wrongExpectedVersion(expected, actual))
    case 'exists':
      return actual > 0 ? E.right(undefined) : E.left(wrongExpectedVersion(expected, actual))
    default:
      return expected === actual ? E.right(undefined) : E.left(wrongExpectedVersion(expected, actual))
  }
}

