import * as E from 'fp-ts/lib/Either.js'
import { isUsable } from '../../domain/security/apiKey.js'
import { parsePrincipal } from '../../domain/security/principal.js'
import type { Secret } from '../../domain/security/secret.js'
import type { TokenRequest } from '../../domain/security/userRequests.js'
import { forbidden, unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { IsoTimestamp } from '../../domain/tenants/tenant.js'
import type { AppendError } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { admitTenant } from './authenticate.js'
import type { ApiKeyStore } from './ports.js'
import { type SessionDeps, refreshSession, startSession, storeFailure } from './sessions.js'

export interface TokenRequestDeps extends SessionDeps {
  readonly tenants: TenantStore
  readonly keys: ApiKeyStore
}

/**
 * What `allsource.auth.token` answers. For a user: an access token and a refresh token. For an API
 * key: an access token only (the key itself is the long-lived credential; refresh tokens belong to
 * users).
 */
export interface TokenReply {
  readonly accessToken: Secret
  readonly expiresAt: IsoTimestamp
  readonly refreshToken?: Secret
  readonly refreshExpiresAt?: IsoTimestamp
}

/**
 * Tokens for the principal `principal` of `tenant` — the identity the request's reply inbox
 * `_INBOX.<tenant>.<principal>.…` names. The door must only pass a principal taken from the reply
 * subject: NATS lets only that principal's connections subscribe there, so only it reads the answer.
 *
 * - The tenant must be admitted (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`).
 * - `New` for a user: a new session (`startSession`), if the user exists and is not deleted; for a
 *   key: an access token with subject `key:<keyId>`, if the key is the tenant's and usable.
 * - `Refresh`: only a user's own refresh token (`refreshSession` bound to tenant and username):
 *   rotation, reuse detection and revocation as there. A key principal has none.
 * - The operator (`_op`) is `FORBIDDEN`: it connects with the operator key, it has no tokens.
 * - Every other refusal (not a principal, unknown or deleted user, revoked key, bad refresh token)
 *   is the same `UNAUTHORIZED`.
 */
export const requestTokens =
  (deps: TokenRequestDeps) =>
  async (tenant: TenantId, principalToken: string, request: TokenRequest): Promise<E.Either<AppendError, TokenReply>> => {
    const principal = parsePrincipal(principalToken)
    if (principal === undefined) return E.left(unauthorized())
    if (principal.kind === 'operator') {
      return E.left(forbidden('role', 'the operator has no access or refresh tokens: it connects with the operator key'))
    }
    const admitted = await admitTenant(deps.tenants)(tenant)
    if (E.isLeft(admitted)) return admitted
    if (principal.kind === 'key') {
      if (request._tag === 'Refresh') return E.left(unauthorized())
      const key = await deps.keys.get(principal.keyId)
      const now = deps.clock.now()
      if (key === undefined || key.tenant !== tenant || E.isLeft(isUsable(key, now))) return E.left(unauthorized())
      const access = await deps.signer.sign({ tenant, role: key.role, subject: { kind: 'key', keyId: key.keyId } }, now)
      return E.right({ accessToken: access.token, expiresAt: access.expiresAt })
    }
    if (request._tag === 'Refresh') return refreshSession(deps)(request.refreshToken.reveal(), { tenant, username: principal.username })
    const found = await deps.users.get(tenant, principal.username)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    const record = found.right?.record
    if (record === undefined || record.deletedAt !== undefined || record.passwordHash === undefined) return E.left(unauthorized())
    return startSession(deps)(record)
  }
