import * as E from 'fp-ts/lib/Either.js'
import { isUsable } from '../../domain/security/apiKey.js'
import { parsePrincipal } from '../../domain/security/principal.js'
import type { LogoutRequest } from '../../domain/security/sessionRequests.js'
import type { Secret } from '../../domain/security/secret.js'
import type { Username } from '../../domain/security/user.js'
import { forbidden, unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { AppendError } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { admitTenant } from './authenticate.js'
import type { ApiKeyStore } from './ports.js'
import { revokeRefreshToken, revokeUserSessions, type SessionDeps, storeFailure } from './sessions.js'
import { userView } from '../../domain/security/user.js'
import { acceptInvite, type Me, type UserDeps } from './users.js'

/**
 * The session requests of a connected identity, for any door that knows the caller's principal
 * (on NATS: the reply inbox `_INBOX.<tenant>.<principal>.…`, which NATS confines to that
 * principal; over HTTP: the bearer's). `principal` is a reply principal (`u_<user>`, a keyId, `_op`).
 * The tenant must be admitted (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`); the operator (`_op`) is
 * `FORBIDDEN` (it has no tenant identity); anything else that is not a live principal is `UNAUTHORIZED`.
 */

const userOf = (principalToken: string): E.Either<AppendError, Username> => {
  const p = parsePrincipal(principalToken)
  if (p?.kind === 'operator') return E.left(forbidden('role', 'the operator has no sessions or user record: it connects with the operator key'))
  return p?.kind === 'user' ? E.right(p.username) : E.left(unauthorized())
}

/** What `logout` did: ended one session (the refresh token's family) or every session of the user. */
export interface LoggedOut {
  readonly revoked: 'session' | 'all'
}

/**
 * Logout for a user principal: `Session` revokes the refresh token's family if it is the user's
 * own (another user's token, or a text that is no live token, revokes nothing and answers the same
 * success: RFC 7009); `All` revokes every session the user started so far (later logins are not
 * affected). Access tokens already issued stay valid until they expire (≤ 15 min), and live
 * connections keep their grant until it expires. A key principal has no sessions: `UNAUTHORIZED`.
 */
export const logout =
  (deps: SessionDeps & { readonly tenants: TenantStore }) =>
  async (tenant: TenantId, principalToken: string, request: LogoutRequest): Promise<E.Either<AppendError, LoggedOut>> => {
    const username = userOf(principalToken)
    if (E.isLeft(username)) return username
    const admitted = await admitTenant(deps.tenants)(tenant)
    if (E.isLeft(admitted)) return admitted
    if (request._tag === 'All') {
      const r = await revokeUserSessions(deps)(tenant, username.right)
      return E.isLeft(r) ? r : E.right({ revoked: 'all' })
    }
    const r = await revokeRefreshToken(deps)(request.refreshToken.reveal(), { tenant, username: username.right })
    return E.isLeft(r) ? r : E.right({ revoked: 'session' })
  }

/**
 * Who the caller is: for a user, its tenant, role (the record's: what its next token will carry)
 * and record (no hash); for an API key, its tenant and role. A deleted user or an unusable key is
 * `UNAUTHORIZED`.
 */
export const whoAmI =
  (deps: Pick<UserDeps, 'users' | 'clock'> & { readonly keys: ApiKeyStore; readonly tenants: TenantStore }) =>
  async (tenant: TenantId, principalToken: string): Promise<E.Either<AppendError, Me>> => {
    const p = parsePrincipal(principalToken)
    if (p?.kind === 'operator') return E.left(forbidden('role', 'the operator has no tenant identity: it connects with the operator key'))
    if (p === undefined) return E.left(unauthorized())
    const admitted = await admitTenant(deps.tenants)(tenant)
    if (E.isLeft(admitted)) return admitted
    if (p.kind === 'key') {
      const key = await deps.keys.get(p.keyId)
      if (key === undefined || key.tenant !== tenant || E.isLeft(isUsable(key, deps.clock.now()))) return E.left(unauthorized())
      return E.right({ tenant, role: key.role, subject: { kind: 'key', keyId: key.keyId } })
    }
    const found = await deps.users.get(tenant, p.username)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    const record = found.right?.record
    if (record === undefined || record.deletedAt !== undefined) return E.left(unauthorized())
    return E.right({ tenant, role: record.role, subject: { kind: 'user', username: p.username }, user: userView(record) })
  }

/**
 * Accepts an invitation for the user principal the door names (`acceptInvite`: password policy
 * first, then the token; a token works once). The tenant must be admitted. Answers the user (no hash).
 */
export const acceptInvitation =
  (deps: UserDeps & { readonly tenants: TenantStore }) =>
  async (tenant: TenantId, principalToken: string, request: { readonly inviteToken: Secret; readonly password: Secret }) => {
    const username = userOf(principalToken)
    if (E.isLeft(username)) return username
    const admitted = await admitTenant(deps.tenants)(tenant)
    if (E.isLeft(admitted)) return admitted
    return acceptInvite(deps)(tenant, username.right, request.inviteToken.reveal(), request.password)
  }
