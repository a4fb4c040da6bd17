import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError, invalidId } from '../streams/errors.js'
import { isProjectionKey } from './projection.js'

/** A request on `allsource.projection.<tenant>.<projection>`. */
export type ProjectionRequest =
  /** Status of the projection (an empty body). */
  | { readonly _tag: 'Status' }
  /** One key's `{ key, state, offset }`; with `minOffset`, first wait until the projection passed it. */
  | { readonly _tag: 'Get'; readonly key: string; readonly minOffset?: number; readonly timeoutMs: number }
  /** Keys in order, after `after`, at most `limit`. */
  | { readonly _tag: 'Keys'; readonly after?: string; readonly limit: number }

export const defaultKeysLimit = 100
export const maxKeysLimit = 1_000
export const defaultWaitMs = 5_000
export const maxWaitMs = 60_000

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

const isInt = (u: unknown, min: number, max: number): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= min && u <= max

const keyError = invalidId('key', 'a projection key is 1–255 of A–Z a–z 0–9 _ - = . (no leading, trailing or double dot)')

/**
 * Validates a projection request: empty → status; `{ key, minOffset?, timeoutMs? = 5000 }` → one
 * key (read-your-writes when `minOffset` is the offset an append returned; `timeoutMs` ≤ 60000);
 * `{ keys: true, after?, limit? = 100 }` → a page of keys (`limit` ≤ 1000).
 */
export const validateProjectionRequest = (body: unknown): E.Either<DomainError, ProjectionRequest> => {
  if (body === undefined || body === null) return E.right({ _tag: 'Status' })
  if (!isRecord(body)) return E.left(badRequest('request body must be an object'))
  if (body.keys !== undefined) {
    if (body.keys !== true) return E.left(badRequest('keys must be true'))
    const limit = body.limit ?? defaultKeysLimit
    if (!isInt(limit, 1, maxKeysLimit)) return E.left(badRequest(`limit must be an integer from 1 to ${maxKeysLimit}`, { limit }))
    if (body.after !== undefined && (typeof body.after !== 'string' || !isProjectionKey(body.after))) return E.left(keyError)
    return E.right({ _tag: 'Keys', limit, ...(body.after !== undefined ? { after: body.after } : {}) })
  }
  if (body.key === undefined) return Object.keys(body).length === 0 ? E.right({ _tag: 'Status' }) : E.left(badRequest('expected { key } or { keys: true }'))
  if (typeof body.key !== 'string' || !isProjectionKey(body.key)) return E.left(keyError)
  const timeoutMs = body.timeoutMs ?? defaultWaitMs
  if (!isInt(timeoutMs, 0, maxWaitMs)) return E.left(badRequest(`timeoutMs must be an integer from 0 to ${maxWaitMs}`, { timeoutMs }))
  if (body.minOffset !== undefined && !isInt(body.minOffset, 0, Number.MAX_SAFE_INTEGER)) {
    return E.left(badRequest('minOffset must be an integer >= 0 (the offset an append returned)', { minOffset: body.minOffset }))
  }
  return E.right({ _tag: 'Get', key: body.key, timeoutMs, ...(body.minOffset !== undefined ? { minOffset: body.minOffset } : {}) })
}

/** An operator's command on `allsource.admin.projection.<projection>.<command>`. */
export type ProjectionCommand =
  | { readonly _tag: 'Status' }
  | { readonly _tag: 'Pause' }
  | { readonly _tag: 'Resume' }
  /** Rebuild into a new read model from `fromOffset` (0 or 1 = the whole log). */
  | { readonly _tag: 'Rebuild'; readonly fromOffset: number }

/** Validates a command name and body (a rebuild's offset against the log: {@link checkRebuildOffset}). */
export const validateProjectionCommand = (command: string, body: unknown): E.Either<DomainError, ProjectionCommand> => {
  switch (command) {
    case 'status':
      return E.right({ _tag: 'Status' })
    case 'pause':
      return E.right({ _tag: 'Pause' })
    case 'resume':
      return E.right({ _tag: 'Resume' })
    case 'rebuild': {
      const fromOffset = isRecord(body) ? (body.fromOffset ?? 0) : 0
      if (!isInt(fromOffset, 0, Number.MAX_SAFE_INTEGER)) return E.left(badRequest('fromOffset must be an integer >= 0', { fromOffset }))
      return E.right({ _tag: 'Rebuild', fromOffset })
    }
    default:
      return E.left(badRequest(`unknown command "${command}": use status, pause, resume or rebuild`))
  }
}

/** A rebuild may start anywhere up to one past the log's last offset (`logEnd`), not beyond. */
export const checkRebuildOffset = (fromOffset: number, logEnd: number): E.Either<DomainError, number> =>
  fromOffset > logEnd + 1
    ? E.left(badRequest(`fromOffset ${fromOffset} is past the end of the log (last offset ${logEnd})`, { fromOffset, lastOffset: logEnd }))
    : E.right(fromOffset)
