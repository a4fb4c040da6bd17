import * as E from 'fp-ts/lib/Either.js'
import { badRequest, type DomainError } from '../streams/errors.js'
import { closedBody } from '../tenants/tenantRequests.js'
import { type Secret, secret } from './secret.js'

/**
 * The bodies of the session requests on NATS (`allsource.auth.refresh|logout|me|accept-invite`),
 * validated into values. Bodies are closed (an unknown field is `BadRequest`); every token or
 * password becomes a {@link Secret} at once, so an error or a log can never echo it.
 */

/** `auth.refresh`: `{ refreshToken }`. */
export const validateRefreshRequest = (body: unknown): E.Either<DomainError, { readonly refreshToken: Secret }> => {
  const b = closedBody('auth.refresh', body, ['refreshToken'])
  if (E.isLeft(b)) return b
  const token = b.right.refreshToken
  return typeof token === 'string' ? E.right({ refreshToken: secret(token) }) : E.left(badRequest('auth.refresh: refreshToken is required (a string)', { field: 'refreshToken' }))
}

/** `auth.logout`: `{ refreshToken }` ends that session (its family); `{ all: true }` every session of the user. */
export type LogoutRequest = { readonly _tag: 'Session'; readonly refreshToken: Secret } | { readonly _tag: 'All' }

export const validateLogoutRequest = (body: unknown): E.Either<DomainError, LogoutRequest> => {
  const b = closedBody('auth.logout', body, ['refreshToken', 'all'])
  if (E.isLeft(b)) return b
  const { refreshToken, all } = b.right
  if (all !== undefined && all !== true) return E.left(badRequest('auth.logout: all must be true when given', { field: 'all' }))
  if ((refreshToken === undefined) === (all === undefined)) return E.left(badRequest('auth.logout takes either { refreshToken } or { all: true }'))
  if (all === true) return E.right({ _tag: 'All' })
  return typeof refreshToken === 'string' ? E.right({ _tag: 'Session', refreshToken: secret(refreshToken) }) : E.left(badRequest('auth.logout: refreshToken must be a string', { field: 'refreshToken' }))
}

/** `auth.me`: nothing or `{}`. */
export const validateMeRequest = (body: unknown): E.Either<DomainError, void> => {
  const b = closedBody('auth.me', body, [])
  if (E.isLeft(b)) return E.left(badRequest('auth.me takes no body or {}'))
  return Object.keys(b.right).length === 0 ? E.right(undefined) : E.left(badRequest('auth.me takes no body or {}'))
}

/** `auth.accept-invite`: `{ inviteToken, password }`. */
export const validateAcceptInviteRequest = (body: unknown): E.Either<DomainError, { readonly inviteToken: Secret; readonly password: Secret }> => {
  const b = closedBody('auth.accept-invite', body, ['inviteToken', 'password'])
  if (E.isLeft(b)) return b
  const { inviteToken, password } = b.right
  if (typeof inviteToken !== 'string') return E.left(badRequest('auth.accept-invite: inviteToken is required (a string)', { field: 'inviteToken' }))
  if (typeof password !== 'string') return E.left(badRequest('auth.accept-invite: password is required (a string)', { field: 'password' }))
  return E.right({ inviteToken: secret(inviteToken), password: secret(password) })
}
