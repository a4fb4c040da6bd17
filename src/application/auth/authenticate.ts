import * as E from 'fp-ts/lib/Either.js'
import { type ApiKeyId, type KeyHash, isUsable, parseApiKey } from '../../domain/security/apiKey.js'
import { userPrincipal } from '../../domain/security/principal.js'
import type { Identity } from '../../domain/security/roles.js'
import type { TokenIdentity } from '../../domain/security/token.js'
import { quotaExceeded, unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { admit, type Tenant } from '../../domain/tenants/tenant.js'
import { type AppendError, unavailable } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { type ApiKeyDeps, verifyKey } from './apiKeys.js'
import type { PasswordHasher, TokenVerifier, UserStore } from './ports.js'
import { storeFailure } from './sessions.js'
import { checkInvitation, checkPassword, looksLikeInvitation } from './users.js'
import type { LoginThrottle } from './loginThrottle.js'

/** The platform operator's key, held by the processor's configuration (the bootstrap key), as its keyed hash. */
export interface OperatorKey {
  readonly keyId: ApiKeyId
  readonly hash: KeyHash
}

/** What users and access tokens need; absent from {@link AuthenticateDeps}, both are refused. */
export interface UserAuthDeps {
  readonly users: UserStore
  readonly passwords: PasswordHasher
  readonly verifier: TokenVerifier
}

export interface AuthenticateDeps extends ApiKeyDeps {
  readonly tenants: TenantStore
  /**
   * Admits a tenant from a cache the caller keeps current (auth mode: the tenant directory a KV
   * watch feeds), instead of reading `tenants` on every connection. Same answers as
   * {@link admitTenant}.
   */
  readonly admit?: (tenant: TenantId) => Promise<E.Either<AppendError, Tenant>>
  /**
   * How many connections `tenant` holds now (auth mode: counted from the server's connect and
   * disconnect events, `connectionCounter.ts`). Present, a tenant connection is refused
   * `QUOTA_EXCEEDED` when this count has reached the tenant's `connections` quota; absent, that
   * quota is not enforced. The operator is never counted nor refused for it.
   */
  readonly liveConnections?: (tenant: TenantId) => number
  /** The operator key; absent, no credential is the operator. */
  readonly operator?: OperatorKey
  /** Users (password login) and access tokens; absent, only API keys and the operator key authenticate. */
  readonly userAuth?: UserAuthDeps
  /**
   * Password-login rate limits (`createLoginThrottle`): a password credential is refused
   * `QUOTA_EXCEEDED` while its username's or tenant's failures are over budget (before any password
   * work), and each refused password or invitation counts as a failure. Absent: not limited.
   */
  readonly loginThrottle?: Pick<LoginThrottle, 'checkLogin' | 'loginFailed'>
}

/**
 * A password credential: NATS `connect({ user: "<tenant>/<username>", pass })`. Any other value
 * handed to {@link authenticate} is a connect token (an API key or an access token).
 */
export interface PasswordCredential {
  readonly _tag: 'Password'
  /** `<tenant>/<username>` as the client sent it. */
  readonly user: unknown
  readonly password: unknown
}

export const passwordCredential = (user: unknown, password: unknown): PasswordCredential => ({ _tag: 'Password', user, password })

const isPasswordCredential = (c: unknown): c is PasswordCredential =>
  typeof c === 'object' && c !== null && (c as { _tag?: unknown })._tag === 'Password' && 'user' in c && 'password' in c

/** A compact JWS starts with the base64url of `{"`: `eyJ`. API keys start with `as_`, so the two never overlap. */
const looksLikeJwt = (token: unknown): boolean => typeof token === 'string' && token.startsWith('eyJ')

/**
 * Whether `tenant` may be served now: an unknown or deleted tenant is `TENANT_NOT_FOUND`, a
 * suspended one `TENANT_SUSPENDED`, a registry that does not answer `UNAVAILABLE`; a corrupt
 * record `UNAUTHORIZED` (never a grant).
 */
export const admitTenant =
  (tenants: TenantStore) =>
  async (tenant: TenantId): Promise<E.Either<AppendError, void>> => {
    const stored = await tenants.get(tenant)()
    if (E.isLeft(stored)) {
      return stored.left._tag === 'TenantStoreUnavailable' ? E.left(unavailable('the tenant registry did not answer; retry')) : E.left(unauthorized())
    }
    const admitted = admit(tenant, stored.right?.record)
    return E.isLeft(admitted) ? admitted : E.right(undefined)
  }

/** The tenant record, if it may be served now: from `deps.admit`'s cache, else one registry read (same answers as {@link admitTenant}). */
const admitRecord =
  (deps: AuthenticateDeps) =>
  async (tenant: TenantId): Promise<E.Either<AppendError, Tenant>> => {
    if (deps.admit !== undefined) return deps.admit(tenant)
    const stored = await deps.tenants.get(tenant)()
    if (E.isLeft(stored)) {
      return stored.left._tag === 'TenantStoreUnavailable' ? E.left(unavailable('the tenant registry did not answer; retry')) : E.left(unauthorized())
    }
    return admit(tenant, stored.right?.record)
  }

/**
 * A hint for a connection refused at the `connections` quota: the quota does not reset with time,
 * it frees when one of the tenant's connections closes; the client may try again after this long.
 */
export const CONNECTION_RETRY_MS = 1_000

/**
 * The refusal of a new connection for `tenant` at its `connections` quota, if `live` (its
 * connections now) has reached it: `QUOTA_EXCEEDED` with `quota: 'connections'`, the limit, and
 * {@link CONNECTION_RETRY_MS}. `null` (unlimited) never refuses. Pure.
 */
export const connectionQuota = (record: Tenant, live: number): E.Either<AppendError, void> => {
  const limit = record.quotas.connections
  return limit !== null && live >= limit ? E.left(quotaExceeded('connections', limit, CONNECTION_RETRY_MS)) : E.right(undefined)
}

/** Admits a tenant connection: the tenant may be served, and (when counted) is below its `connections` quota. */
const admitWith =
  (deps: AuthenticateDeps) =>
  async (tenant: TenantId): Promise<E.Either<AppendError, void>> => {
    const r = await admitRecord(deps)(tenant)
    if (E.isLeft(r)) return r
    return deps.liveConnections === undefined ? E.right(undefined) : connectionQuota(r.right, deps.liveConnections(tenant))
  }

/**
 * Whether the principal a verified access token speaks for still exists: a user not deleted, an
 * API key of the token's tenant not revoked or expired. Anything else is `UNAUTHORIZED`.
 */
const principalOfToken = async (deps: AuthenticateDeps & { readonly userAuth: UserAuthDeps }, id: TokenIdentity, now: Date): Promise<E.Either<AppendError, string>> => {
  if (id.subject.kind === 'user') {
    const found = await deps.userAuth.users.get(id.tenant, id.subject.username)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    return found.right === undefined || found.right.record.deletedAt !== undefined ? E.left(unauthorized()) : E.right(userPrincipal(id.subject.username))
  }
  const key = await deps.store.get(id.subject.keyId)
  return key === undefined || key.tenant !== id.tenant || E.isLeft(isUsable(key, now)) ? E.left(unauthorized()) : E.right(id.subject.keyId)
}

/** Who a credential is: the identity (tenant and role, or the operator) and the principal that names it (a keyId, or `u_<username>`: `principal.ts`). */
export interface Authenticated {
  readonly identity: Identity
  /** The keyId of the key, or the user's principal (`u_…`): names the connection, its inbox and its audit entries. Never secret. */
  readonly principal: string
  /**
   * `invitation`: an invited user connected with its invitation token as the password; the
   * connection may do one thing, accept the invitation (`allsource.auth.accept-invite`), whatever
   * the identity's role. Absent: the identity's full grant.
   */
  readonly scope?: 'invitation'
}

/**
 * Checks a credential presented at connect (the NATS connect token, or a {@link PasswordCredential})
 * at `now`. All three kinds go through here:
 * - the operator key (compared by its keyed hash, in constant time) is the operator;
 * - a tenant API key (`as_…`) must verify (`verifyKey`); principal: its keyId;
 * - an access token (a JWT, `eyJ…`) must verify with the key ring (`userAuth.verifier`: signature,
 *   `alg`, `kid`, `iss`, `aud`, times, claims), and the principal it names must still exist: a
 *   user not deleted (one store read per connect, so a deleted user's token is refused at its
 *   next connect or grant renewal), an API key of the same tenant neither revoked nor expired.
 *   Identity: the token's tenant and role; principal: the user's (`u_…`) or the keyId;
 * - a password credential `<tenant>/<username>` + password must pass {@link checkPassword} (one
 *   argon2id verification whatever the outcome); identity: the user's tenant and role; principal
 *   `userPrincipal(username)`. A password shaped like an invitation token (`asi_…`) that matches
 *   the user's pending invitation (`checkInvitation`, not spent) gives the same identity with
 *   `scope: 'invitation'` (a grant to accept it, nothing else). With `loginThrottle`, a
 *   username or tenant whose failed logins are over budget is refused `QUOTA_EXCEEDED` before any
 *   password work, and every refused password counts as a failure;
 * - then the tenant must be admitted ({@link admitTenant}): `TENANT_NOT_FOUND`, `TENANT_SUSPENDED`;
 * - then, with `liveConnections`, the tenant must be below its `connections` quota
 *   ({@link connectionQuota}): else `QUOTA_EXCEEDED` (limit `connections`). The count is what the
 *   caller has seen, so connections granted at the same moment can each pass before either is
 *   counted: the quota may be exceeded by the connects in flight (documented in docs/security.md);
 * - anything else (not a credential, wrong secret or password, unknown, revoked, expired, tampered,
 *   deleted user, users not configured) is the same `UNAUTHORIZED`, which never says which check
 *   failed;
 * - a store or key ring that does not answer is `UNAVAILABLE` (the caller refuses the connection;
 *   the client retries), never a grant.
 * Never throws for any `credential` value.
 */
export const authenticate =
  (deps: AuthenticateDeps) =>
  async (credential: unknown, now: Date): Promise<E.Either<AppendError, Authenticated>> => {
    const ua = deps.userAuth
    if (isPasswordCredential(credential)) {
      if (ua === undefined) return E.left(unauthorized())
      const user = typeof credential.user === 'string' ? credential.user : ''
      const slash = user.indexOf('/')
      const tenant = slash < 0 ? undefined : user.slice(0, slash)
      const username = slash < 0 ? undefined : user.slice(slash + 1)
      const throttle = deps.loginThrottle
      const throttleKey = { tenant: (tenant ?? '').slice(0, 64), username: (username ?? '').slice(0, 64) }
      const allowed = throttle?.checkLogin(throttleKey.tenant, throttleKey.username) ?? E.right(undefined)
      if (E.isLeft(allowed)) return allowed
      const failed = <A>(r: E.Either<AppendError, A>): E.Either<AppendError, A> => {
        if (E.isLeft(r) && r.left._tag === 'Unauthorized') throttle?.loginFailed(throttleKey.tenant, throttleKey.username)
        return r
      }
      if (looksLikeInvitation(credential.password)) {
        // An invitation token as the password: a connection that may only accept it. A password
        // that merely looks like one falls through to the password check.
        const invited = await checkInvitation({ users: ua.users, tokenHasher: deps.hasher, clock: deps.clock })(tenant, username, credential.password)
        if (E.isRight(invited)) {
          const admitted = await admitWith(deps)(invited.right.tenant)
          if (E.isLeft(admitted)) return admitted
          return E.right({ identity: { tenant: invited.right.tenant, role: invited.right.role }, principal: userPrincipal(invited.right.username), scope: 'invitation' })
        }
        if (invited.left._tag !== 'Unauthorized') return invited
      }
      const record = failed(await checkPassword(ua)(tenant, username, credential.password))
      if (E.isLeft(record)) return record
      const admitted = await admitWith(deps)(record.right.tenant)
      if (E.isLeft(admitted)) return admitted
      return E.right({ identity: { tenant: record.right.tenant, role: record.right.role }, principal: userPrincipal(record.right.username) })
    }
    const token = credential
    if (looksLikeJwt(token)) {
      if (ua === undefined) return E.left(unauthorized())
      let verified: E.Either<unknown, TokenIdentity>
      try {
        verified = await ua.verifier.verify(token, now)
      } catch {
        return E.left(unavailable('the signing key ring could not be read; retry'))
      }
      if (E.isLeft(verified)) return E.left(unauthorized())
      const id = verified.right
      const principal = await principalOfToken({ ...deps, userAuth: ua }, id, now)
      if (E.isLeft(principal)) return principal
      const admitted = await admitWith(deps)(id.tenant)
      if (E.isLeft(admitted)) return admitted
      return E.right({ identity: { tenant: id.tenant, role: id.role }, principal: principal.right })
    }
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
    const admitted = await admitWith(deps)(key.right.tenant)
    if (E.isLeft(admitted)) return admitted
    return E.right({ identity: { tenant: key.right.tenant, role: key.right.role }, principal: key.right.keyId })
  }
