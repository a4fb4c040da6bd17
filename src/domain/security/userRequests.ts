import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type DomainError, badRequest } from '../streams/errors.js'
import { closedBody } from '../tenants/tenantRequests.js'
import { type Secret, secret } from './secret.js'

/**
 * The bodies of `allsource.admin.<tenant>.users.<command>` (DESIGN.md "Admin API"), validated into
 * commands. Bodies are closed (an unknown field is `BadRequest`). Only shapes are checked here:
 * username, role and password policy are the use cases' (`createUser`, `inviteUser`), which answer
 * `ValidationFailed` naming the rule. A password becomes a {@link Secret} at once, so it can never
 * be echoed by an error or a log.
 *
 * - `create`: `{ username, password, role }`;
 * - `invite`: `{ username, role, ttlMs? }` (a user without a password and a one-time token);
 * - `list`: nothing, `{}` or `{ includeDeleted }`;
 * - `delete`: `{ username }`.
 */
export type UserCommand =
  | { readonly _tag: 'Create'; readonly username: unknown; readonly role: unknown; readonly password: Secret }
  | { readonly _tag: 'Invite'; readonly username: unknown; readonly role: unknown; readonly ttlMs?: number }
  | { readonly _tag: 'List'; readonly includeDeleted: boolean }
  | { readonly _tag: 'Delete'; readonly username: unknown }

export const userCommandNames = ['create', 'invite', 'list', 'delete'] as const

const Present = t.union([t.string, t.number, t.boolean])
const TtlMs = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n > 0 && n <= 366 * 86_400_000, 'TtlMs')

const required = (what: string, body: Record<string, unknown>, name: string): E.Either<DomainError, unknown> =>
  Present.is(body[name]) ? E.right(body[name]) : E.left(badRequest(`${what}: ${name} is required (a string)`, { field: name }))

export const validateUserCommand = (command: string, body: unknown): E.Either<DomainError, UserCommand> => {
  const what = `users.${command.slice(0, 32)}`
  switch (command) {
    case 'create': {
      const b = closedBody(what, body, ['username', 'password', 'role'])
      if (E.isLeft(b)) return b
      const username = required(what, b.right, 'username')
      if (E.isLeft(username)) return username
      const password = b.right.password
      if (typeof password !== 'string') return E.left(badRequest(`${what}: password is required (a string)`, { field: 'password' }))
      return E.right({ _tag: 'Create', username: username.right, role: b.right.role, password: secret(password) })
    }
    case 'invite': {
      const b = closedBody(what, body, ['username', 'role', 'ttlMs'])
      if (E.isLeft(b)) return b
      const username = required(what, b.right, 'username')
      if (E.isLeft(username)) return username
      const ttlMs = b.right.ttlMs
      if (ttlMs !== undefined && !TtlMs.is(ttlMs)) return E.left(badRequest(`${what}: ttlMs must be a positive integer of at most a year (ms)`, { field: 'ttlMs' }))
      return E.right({ _tag: 'Invite', username: username.right, role: b.right.role, ...(ttlMs !== undefined ? { ttlMs } : {}) })
    }
    case 'list': {
      const b = closedBody(what, body, ['includeDeleted'])
      if (E.isLeft(b)) return b
      const inc = b.right.includeDeleted
      if (inc !== undefined && typeof inc !== 'boolean') return E.left(badRequest(`${what}: includeDeleted must be a boolean`, { field: 'includeDeleted' }))
      return E.right({ _tag: 'List', includeDeleted: inc === true })
    }
    case 'delete': {
      const b = closedBody(what, body, ['username'])
      if (E.isLeft(b)) return b
      const username = required(what, b.right, 'username')
      return E.isLeft(username) ? username : E.right({ _tag: 'Delete', username: username.right })
    }
    default:
      return E.left(badRequest(`unknown user command "${command.slice(0, 32)}"; the commands are ${userCommandNames.join(', ')}`, { commands: userCommandNames }))
  }
}

/** The body of `allsource.auth.token`: nothing or `{}` (a new session), or `{ refreshToken }` (rotate). Closed. */
export type TokenRequest = { readonly _tag: 'New' } | { readonly _tag: 'Refresh'; readonly refreshToken: Secret }

export const validateTokenRequest = (body: unknown): E.Either<DomainError, TokenRequest> => {
  const b = closedBody('auth.token', body, ['refreshToken'])
  if (E.isLeft(b)) return b
  const token = b.right.refreshToken
  if (token === undefined) return E.right({ _tag: 'New' })
  return typeof token === 'string' ? E.right({ _tag: 'Refresh', refreshToken: secret(token) }) : E.left(badRequest('auth.token: refreshToken must be a string', { field: 'refreshToken' }))
}
