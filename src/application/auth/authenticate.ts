import * as E from 'fp-ts/lib/Either.js'
import { type ApiKeyId, type KeyHash, parseApiKey } from '../../domain/security/apiKey.js'
import type { Identity } from '../../domain/security/roles.js'
import { unauthorized } from '../../domain/streams/errors.js'
import { admit } from '../../domain/tenants/tenant.js'
import { type AppendError, unavailable } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { type ApiKeyDeps, verifyKey } from './apiKeys.js'

/** The platform operator's key, held by the processor's configuration (the bootstrap key), as its keyed hash. */
export interface OperatorKey {
  readonly keyId: ApiKeyId
  readonly hash: KeyHash
}

export interface AuthenticateDeps extends ApiKeyDeps {
  readonly tenants: TenantStore
  /** The operator key; absent, no credential is the operator. */
  readonly operator?: OperatorKey
}

/** Who a credential is: the identity (tenant and role, or the operator) and the principal that names it (a keyId). */
export interface Authenticated {
  readonly identity: Identity
  /** The keyId of the key presented: names the connection, its inbox and its audit entries. Never secret. */
  readonly principal: string
}

/**
 * Checks a credential presented at connect (the NATS connect token) at `now`:
 * - the operator key (compared by its keyed hash, in constant time) is the operator;
 * - a tenant API key must verify (`verifyKey`) and its tenant must be admitted: an unknown or
 *   deleted tenant is `TENANT_NOT_FOUND`, a suspended one `TENANT_SUSPENDED`;
 * - anything else (not a key, wrong secret, revoked, expired) is `UNAUTHORIZED`, which never says
 *   which check failed;
 * - a tenant store that does not answer is `UNAVAILABLE` (the caller refuses the connection; the
 *   client retries), never a grant.
 * Never throws for any `token` value.
 */
export const authenticate =
  (deps: AuthenticateDeps) =>
  async (token: unknown, now: Date): Promise<E.Either<AppendError, Authenticated>> => {
    const op = deps.operator
    if (op !== undefined) {
      const parsed = parseApiKey(token)
      if (E.isRight(parsed) && parsed.right.keyId === op.keyId) {
        return deps.hasher.verify(parsed.right.keyId, parsed.right.secret, op.hash)
          ? E.right({ identity: { role: 'operator' }, principal: op.keyId })
          : E.left(unauthorized())
      }
    }
    const key = await verifyKey(deps)(token, now)
    if (E.isLeft(key)) return key
    const stored = await deps.tenants.get(key.right.tenant)()
    if (E.isLeft(stored)) {
      return stored.left._tag === 'TenantStoreUnavailable' ? E.left(unavailable('the tenant registry did not answer; retry')) : E.left(unauthorized())
    }
    const admitted = admit(key.right.tenant, stored.right?.record)
    if (E.isLeft(admitted)) return admitted
    return E.right({ identity: { tenant: key.right.tenant, role: key.right.role }, principal: key.right.keyId })
  }
