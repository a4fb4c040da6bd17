import { createHash } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import type { Authenticated } from '../../application/auth/authenticate.js'
import type { AppendError } from '../../application/streams/errors.js'
import { authorize } from '../../domain/security/permissions.js'
import type { Operation } from '../../domain/security/roles.js'
import { invalidId, unauthorized } from '../../domain/streams/errors.js'
import { TenantId } from '../../domain/streams/ids.js'

/** Who made an HTTP request: the authenticated credential, or undefined when auth is off. */
export type HttpCaller = Authenticated | undefined

/**
 * Checks a request's raw `Authorization` header value for `operation` on `tenant`: the credential
 * must authenticate (`UNAUTHORIZED`), the tenant id must be valid (`INVALID_ID`), the identity
 * must be allowed by the permission table (`FORBIDDEN`), and the tenant must be admitted
 * (`TENANT_NOT_FOUND`, `TENANT_SUSPENDED`). With auth off it answers `Right(undefined)` for any
 * valid tenant.
 */
export type AuthorizeHttp = (authorization: string | undefined, tenant: string, operation: Operation) => Promise<E.Either<AppendError, HttpCaller>>

/** What the gateway asks of the control plane (auth mode). */
export interface GatewayAuthDeps {
  /** The callout's `authenticate` (`src/application/auth/authenticate.ts`): API keys, the operator key, access tokens. */
  readonly authenticate: (credential: unknown, now: Date) => Promise<E.Either<AppendError, Authenticated>>
  /** Whether a tenant may be served now, from memory (the tenant directory). */
  readonly admit?: (tenant: string) => Promise<E.Either<AppendError, unknown>>
  /** How long a successful verification is reused (default 5000 ms). */
  readonly cacheTtlMs?: number
  /** Most cached verifications (default 10000; past it the cache starts over). */
  readonly maxCached?: number
  readonly now?: () => number
}

export interface GatewayAuth {
  readonly authorizeHttp: AuthorizeHttp
  /** Authenticates without a tenant (platform-wide requests, `/v1/auth/token`): `UNAUTHORIZED` or who it is; undefined with auth off. */
  identify(authorization: string | undefined): Promise<E.Either<AppendError, HttpCaller>>
  /** Drops cached verifications of a principal (a key revoked or a user deleted through the gateway). */
  forget(principal: string): void
  /** Whether auth is on. */
  readonly enabled: boolean
}

/** Longest `Authorization` value looked at; longer ones are refused without hashing or parsing. */
const MAX_AUTHORIZATION = 8_192

/** The credential of `Bearer <token>` or `ApiKey <key>` (schemes case-insensitive), or undefined. */
export const credentialOf = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined || authorization.length > MAX_AUTHORIZATION) return undefined
  const m = /^(Bearer|ApiKey)[ \t]+([^\s]+)[ \t]*$/i.exec(authorization)
  return m?.[2]
}

/**
 * Builds the gateway's authorizer. `deps` undefined means auth off: everything is open, as on NATS.
 *
 * Guarantees: the same `authenticate` as the NATS auth callout and the same permission table
 * (`authorize`) decide; a successful verification is cached for `cacheTtlMs` under the SHA-256 of
 * the credential (never the credential itself), so an append costs no argon2/HMAC/JWT check and no
 * store read. A key revoked or user deleted elsewhere is therefore refused at most `cacheTtlMs`
 * later (at once when revoked through this gateway: {@link GatewayAuth.forget}). Failures are not
 * cached. Never throws for any header value; the header never appears in an error.
 */
export const createGatewayAuth = (deps: GatewayAuthDeps | undefined): GatewayAuth => {
  if (deps === undefined) {
    const open = async (_a: string | undefined, tenant: string): Promise<E.Either<AppendError, HttpCaller>> =>
      TenantId.is(tenant) ? E.right(undefined) : E.left(invalidId('tenant', 'tenant must be 1–64 chars of A–Z a–z 0–9 _ -'))
    return { authorizeHttp: open, identify: async () => E.right(undefined), forget: () => undefined, enabled: false }
  }
  const ttl = deps.cacheTtlMs ?? 5_000
  const max = deps.maxCached ?? 10_000
  const now = deps.now ?? Date.now
  const cache = new Map<string, { readonly who: Authenticated; readonly until: number }>()

  const identify = async (authorization: string | undefined): Promise<E.Either<AppendError, Authenticated>> => {
    const credential = credentialOf(authorization)
    if (credential === undefined) return E.left(unauthorized('missing or invalid credentials: send Authorization: Bearer <access token> or ApiKey <key>'))
    const id = createHash('sha256').update(credential).digest('base64url')
    const t = now()
    const hit = cache.get(id)
    if (hit !== undefined && hit.until > t) return E.right(hit.who)
    const r = await deps.authenticate(credential, new Date(t))
    // A refused credential is UNAUTHORIZED whatever the reason; a valid one of a tenant that is
    // gone or suspended hears TENANT_NOT_FOUND / TENANT_SUSPENDED, as its appends would on NATS.
    if (E.isLeft(r)) return r
    if (cache.size >= max) cache.clear()
    cache.set(id, { who: r.right, until: t + ttl })
    return r
  }

  const authorizeHttp: AuthorizeHttp = async (authorization, tenant, operation) => {
    const who = await identify(authorization)
    if (E.isLeft(who)) return who
    if (!TenantId.is(tenant)) return E.left(invalidId('tenant', 'tenant must be 1–64 chars of A–Z a–z 0–9 _ -'))
    const allowed = authorize(who.right.identity, operation, tenant)
    if (E.isLeft(allowed)) return allowed
    if (deps.admit !== undefined) {
      const admitted = await deps.admit(tenant)
      if (E.isLeft(admitted)) return admitted
    }
    return who
  }

  return {
    authorizeHttp,
    identify,
    forget: (principal) => {
      for (const [k, v] of cache) if (v.who.principal === principal) cache.delete(k)
    },
    enabled: true,
  }
}
