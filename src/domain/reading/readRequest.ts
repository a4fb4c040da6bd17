import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../streams/errors.js'

/** A validated page request on one stream. */
export interface ReadRequest {
  /** First version to return (1-based). */
  readonly fromVersion: number
  /** Most events in the page. */
  readonly limit: number
}

export const defaultReadLimit = 1000
export const maxReadLimit = 10_000

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

/**
 * Validates `{ fromVersion? = 1, limit? = 1000 }`: `fromVersion` an integer ≥ 1, `limit` an
 * integer in 1..10000, else BAD_REQUEST. An empty body means the defaults.
 */
export const validateReadRequest = (body: unknown): E.Either<DomainError, ReadRequest> => {
  if (body === undefined || body === null) return E.right({ fromVersion: 1, limit: defaultReadLimit })
  if (!isRecord(body)) return E.left(badRequest('request body must be an object'))
  const fromVersion = body.fromVersion ?? 1
  const limit = body.limit ?? defaultReadLimit
  if (typeof fromVersion !== 'number' || !Number.isSafeInteger(fromVersion) || fromVersion < 1) {
    return E.left(badRequest('fromVersion must be an integer >= 1', { fromVersion }))
  }
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > maxReadLimit) {
    return E.left(badRequest(`limit must be an integer from 1 to ${maxReadLimit}`, { limit }))
  }
  return E.right({ fromVersion, limit })
}
