import type { NatsConnection } from '@nats-io/transport-node'
import { type Argon2Parameters, createArgon2PasswordHasher } from '../../adapters/crypto/argon2PasswordHasher.js'
import { createEd25519KeyGenerator, createJoseTokens } from '../../adapters/crypto/joseTokens.js'
import { startUserEndpoints } from '../../adapters/nats/admin/userEndpoints.js'
import { startSessionEndpoints } from '../../adapters/nats/admin/sessionEndpoints.js'
import { createKvRefreshTokenStore, createKvSigningKeyStore, createKvUserStore } from '../../adapters/nats/auth/kvAuthStores.js'
import type { Endpoint, EndpointBase } from '../../adapters/nats/service/endpoint.js'
import { systemClock } from '../../adapters/system/systemClock.js'
import type { UserAuthDeps } from '../../application/auth/authenticate.js'
import { createKeyRingSource, rotateSigningKey } from '../../application/auth/keyRing.js'
import { startSigningKeyEndpoints } from '../../adapters/nats/admin/signingKeyEndpoints.js'
import * as E from 'fp-ts/lib/Either.js'
import type { ApiKeyHasher, ApiKeyStore, RefreshTokenStore, TokenSigner, TokenVerifier, UserStore } from '../../application/auth/ports.js'
import type { AuditDraft } from '../../domain/security/audit.js'
import type { Rotated } from '../../application/auth/keyRing.js'
import type { AppendError } from '../../application/streams/errors.js'
import type { LoginThrottle } from '../../application/auth/loginThrottle.js'
import type { TenantStore } from '../../application/tenants/ports.js'

/** `iss` and `aud` of the access tokens auth mode signs and accepts. */
export const ACCESS_TOKEN_ISSUER = 'allsource'
export const ACCESS_TOKEN_AUDIENCE = 'allsource'

/** Users and access tokens in auth mode: the KV stores, the password hasher, the token signer/verifier, and their endpoints. */
export interface UserPlane {
  /** For `authenticate`: password logins and access tokens. */
  readonly userAuth: UserAuthDeps
  readonly users: UserStore
  readonly refreshTokens: RefreshTokenStore
  readonly tokens: TokenSigner & TokenVerifier
  /** Rotates the signing key (the previous one keeps verifying until its tokens expire); this process signs with the new one at once. */
  rotateSigningKey(): Promise<E.Either<AppendError, Rotated>>
  /** The `users.*` admin endpoint and `auth.token`; `onUserDeleted` disconnects the user; `audit` records their commands and token requests. */
  endpoints(base: EndpointBase, onUserDeleted: (tenant: string, principal: string) => void, audit?: (draft: AuditDraft) => void): readonly Endpoint[]
}

/**
 * Opens the user stores (KV buckets `ALLSOURCE_USERS`, `ALLSOURCE_REFRESH_TOKENS`,
 * `ALLSOURCE_SIGNING_KEYS`, created if absent), the argon2id hasher (OWASP parameters unless
 * `argon2` says otherwise: tests only), and the Ed25519 token signer over the shared key ring (the
 * first process to need it creates it). Refresh and invitation tokens are hashed with the API key
 * hasher (the server pepper).
 */
export const openUserPlane = async (
  nc: NatsConnection,
  deps: {
    readonly replicas: number
    readonly tenants: TenantStore
    readonly keys: ApiKeyStore
    readonly hasher: ApiKeyHasher
    readonly argon2?: Argon2Parameters
    /** The token-request rate limit of `auth.token` and `auth.refresh` (absent: not limited). */
    readonly throttle?: Pick<LoginThrottle, 'takeTokenRequest'>
  },
): Promise<UserPlane> => {
  const users = await createKvUserStore(nc, { replicas: deps.replicas })
  const refreshTokens = await createKvRefreshTokenStore(nc, { replicas: deps.replicas })
  const ringDeps = { store: await createKvSigningKeyStore(nc, { replicas: deps.replicas }), generator: createEd25519KeyGenerator(), clock: systemClock }
  const ring = createKeyRingSource(ringDeps)
  // This process signs with the new key at once; the others at their next ring read (≤ 60 s).
  const rotate = async () => {
    const r = await rotateSigningKey(ringDeps)()
    if (E.isRight(r)) await ring.reload().catch(() => undefined)
    return r
  }
  const tokens = createJoseTokens({ keys: ring, issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE })
  const passwords = createArgon2PasswordHasher(deps.argon2)
  await ring.current() // create the ring now, not on the first login
  const throttle = deps.throttle
  const throttled = throttle === undefined ? {} : { throttle: (t: string, p: string) => throttle.takeTokenRequest(t, p) }
  const session = { users, refreshTokens, signer: tokens, tokenHasher: deps.hasher, clock: systemClock }
  return {
    userAuth: { users, passwords, verifier: tokens },
    users,
    refreshTokens,
    tokens,
    rotateSigningKey: rotate,
    endpoints: (base, onUserDeleted, audit) => [
      ...startUserEndpoints(nc, {
        prefix: base.prefix,
        queue: base.queue,
        users: { ...session, passwords, tenants: deps.tenants },
        tokens: { ...session, tenants: deps.tenants, keys: deps.keys },
        onUserDeleted,
        ...throttled,
        ...(audit !== undefined ? { audit } : {}),
      }),
      ...startSigningKeyEndpoints(nc, { prefix: base.prefix, queue: base.queue, rotate, ...(audit !== undefined ? { audit } : {}) }),
      // auth.refresh|logout|me|accept-invite (the reply inbox names who asks).
      ...startSessionEndpoints(nc, {
        prefix: base.prefix,
        queue: base.queue,
        users: { ...session, passwords },
        tokens: { ...session, tenants: deps.tenants, keys: deps.keys },
        ...throttled,
        ...(audit !== undefined ? { audit } : {}),
      }),
    ],
  }
}
