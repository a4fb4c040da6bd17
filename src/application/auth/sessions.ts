import * as E from 'fp-ts/lib/Either.js'
import type { KeyHash } from '../../domain/security/apiKey.js'
import type { Secret } from '../../domain/security/secret.js'
import { REFRESH_TOKEN_PREFIX, type RefreshTokenRecord, formatOpaqueToken, parseOpaqueToken, refreshUsable } from '../../domain/security/token.js'
import type { UserRecord, Username } from '../../domain/security/user.js'
import { type DomainError, unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { IsoTimestamp } from '../../domain/tenants/tenant.js'
import { type AppendError, internal, unavailable } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import type { ApiKeyHasher, AuthStoreError, RefreshTokenStore, TokenSigner, UserStore } from './ports.js'

/** Default refresh token lifetime: 30 days from its issue (each exchange issues a new one). */
export const DEFAULT_REFRESH_TTL_MS = 30 * 86_400_000

export interface SessionDeps {
  readonly users: UserStore
  readonly refreshTokens: RefreshTokenStore
  readonly signer: TokenSigner
  /** Generates refresh token ids and secrets and keyed-hashes them (the API key hasher: HMAC-SHA-256 with the server pepper). */
  readonly tokenHasher: ApiKeyHasher
  readonly clock: Clock
  /** Default {@link DEFAULT_REFRESH_TTL_MS}. */
  readonly refreshTtlMs?: number
  /**
   * Told when a refresh exchange is refused as reuse (a spent token presented again, or the loser
   * of two exchanges of one token) after the token's family was revoked: the audit trail's
   * `auth.refresh.reuse`. Given the token's owner, never the token.
   */
  readonly onReuse?: (owner: { readonly tenant: TenantId; readonly username: Username }) => void
}

/**
 * What a login or a refresh answers (DESIGN.md, `allsource.auth.token`). Both tokens are
 * {@link Secret}s: they print as `[redacted]`; the endpoint reveals them in its one reply.
 */
export interface IssuedTokens {
  readonly accessToken: Secret
  /** When the access token expires. */
  readonly expiresAt: IsoTimestamp
  readonly refreshToken: Secret
  readonly refreshExpiresAt: IsoTimestamp
}

const iso = (d: Date): IsoTimestamp => d.toISOString() as IsoTimestamp
const UNKNOWN_HASH = 'A'.repeat(43) as KeyHash
const INSERT_ATTEMPTS = 3
const refused = (): E.Either<DomainError, never> => E.left(unauthorized())

/** A store failure as a request failure: no answer is `Unavailable`, anything else a defect. */
export const storeFailure = (e: AuthStoreError): AppendError =>
  e._tag === 'StoreUnavailable' ? unavailable(e.message) : internal(`auth store: ${e._tag}${e._tag === 'CorruptRecord' ? ` ${e.key}: ${e.message}` : ''}`)

const issue = async (
  deps: SessionDeps,
  user: UserRecord,
  family: { readonly familyId?: RefreshTokenRecord['familyId']; readonly familyCreatedAt?: IsoTimestamp },
  now: Date,
): Promise<E.Either<AppendError, IssuedTokens>> => {
  const expiresAt = iso(new Date(now.getTime() + (deps.refreshTtlMs ?? DEFAULT_REFRESH_TTL_MS)))
  for (let attempt = 0; attempt < INSERT_ATTEMPTS; attempt++) {
    const { keyId: tokenId, secret } = deps.tokenHasher.generate()
    const record: RefreshTokenRecord = {
      tokenId,
      familyId: family.familyId ?? tokenId,
      familyCreatedAt: family.familyCreatedAt ?? iso(now),
      tenant: user.tenant,
      username: user.username,
      createdAt: iso(now),
      expiresAt,
      hash: deps.tokenHasher.hash(tokenId, secret),
    }
    const created = await deps.refreshTokens.create(record)()
    if (E.isLeft(created)) {
      if (created.left._tag === 'RecordExists') continue
      return E.left(storeFailure(created.left))
    }
    const access = await deps.signer.sign({ tenant: user.tenant, role: user.role, subject: { kind: 'user', username: user.username } }, now)
    return E.right({
      accessToken: access.token,
      expiresAt: access.expiresAt,
      refreshToken: formatOpaqueToken(REFRESH_TOKEN_PREFIX, tokenId, secret),
      refreshExpiresAt: expiresAt,
    })
  }
  throw new Error(`refresh tokens: ${INSERT_ATTEMPTS} tokenId collisions in a row; the generator is broken`)
}

/** Starts a session for an authenticated user: a new refresh token family and an access token. */
export const startSession = (deps: SessionDeps) => (user: UserRecord) => issue(deps, user, {}, deps.clock.now())

/**
 * Exchanges a refresh token for a new access token and a new refresh token of the same family.
 * The presented token is spent (compare-and-set, so of two exchanges of one token exactly one
 * wins). Presenting a spent token again is reuse: the whole family is revoked, the legitimate
 * holder's current token included (it may be the thief's). The role comes from the user record
 * now, so a role change applies at the next refresh; a deleted user is refused.
 *
 * Every refusal (malformed, unknown, wrong secret, expired, revoked, reused, user gone) is the same
 * `Unauthorized`. An unknown tokenId runs the same HMAC and comparison against a dummy hash.
 *
 * `owner`, when given, binds the exchange to one user: a token of another tenant or user is
 * refused like an unknown one, before anything is spent or revoked (the NATS door passes the
 * principal its reply inbox names, so a refresh token is only exchanged by its own user).
 */
export const refreshSession =
  (deps: SessionDeps) =>
  async (token: unknown, owner?: { readonly tenant: TenantId; readonly username: Username }): Promise<E.Either<AppendError, IssuedTokens>> => {
    const now = deps.clock.now()
    const parsed = parseOpaqueToken(REFRESH_TOKEN_PREFIX, token)
    if (E.isLeft(parsed)) return refused()
    const { id, secret } = parsed.right
    const found = await deps.refreshTokens.get(id)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    if (found.right === undefined) {
      deps.tokenHasher.verify(id, secret, UNKNOWN_HASH)
      return refused()
    }
    const state = found.right
    // A wrong secret for a real tokenId is a guess, not reuse: it must not let anyone end a session.
    if (!deps.tokenHasher.verify(id, secret, state.record.hash)) return refused()
    if (owner !== undefined && (state.record.tenant !== owner.tenant || state.record.username !== owner.username)) return refused()
    const usable = refreshUsable(state, now)
    if (E.isLeft(usable)) {
      if (usable.left === 'reused') {
        const revoked = await deps.refreshTokens.revokeFamily(state.record.familyId, iso(now))()
        if (E.isLeft(revoked)) return E.left(storeFailure(revoked.left))
        deps.onReuse?.({ tenant: state.record.tenant, username: state.record.username })
      }
      return refused()
    }
    const user = await deps.users.get(state.record.tenant, state.record.username)()
    if (E.isLeft(user)) return E.left(storeFailure(user.left))
    if (user.right === undefined || user.right.record.deletedAt !== undefined) return refused()
    const spent = await deps.refreshTokens.update({ ...state.record, rotatedAt: iso(now) }, state.revision)()
    if (E.isLeft(spent)) {
      if (spent.left._tag !== 'RevisionConflict') return E.left(storeFailure(spent.left))
      // Another exchange of this very token won the race: that is reuse.
      const revoked = await deps.refreshTokens.revokeFamily(state.record.familyId, iso(now))()
      if (E.isLeft(revoked)) return E.left(storeFailure(revoked.left))
      deps.onReuse?.({ tenant: state.record.tenant, username: state.record.username })
      return refused()
    }
    return issue(deps, user.right.record, state.record, now)
  }

/**
 * Logout: revokes the session the refresh token belongs to (its family: the token, and any token
 * it was already exchanged for). Idempotent. A text that is not a live token of this server (bad
 * format, unknown, wrong secret) revokes nothing and answers the same success (RFC 7009 §2.2), so
 * the answer says nothing about the token. `owner`, when given, binds it to one user: another
 * user's token revokes nothing (and answers the same success).
 */
export const revokeRefreshToken =
  (deps: SessionDeps) =>
  async (token: unknown, owner?: { readonly tenant: TenantId; readonly username: Username }): Promise<E.Either<AppendError, void>> => {
    const parsed = parseOpaqueToken(REFRESH_TOKEN_PREFIX, token)
    if (E.isLeft(parsed)) return E.right(undefined)
    const found = await deps.refreshTokens.get(parsed.right.id)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    const hash = found.right?.record.hash ?? UNKNOWN_HASH
    if (!deps.tokenHasher.verify(parsed.right.id, parsed.right.secret, hash) || found.right === undefined) return E.right(undefined)
    if (owner !== undefined && (found.right.record.tenant !== owner.tenant || found.right.record.username !== owner.username)) return E.right(undefined)
    const revoked = await deps.refreshTokens.revokeFamily(found.right.record.familyId, iso(deps.clock.now()))()
    return E.isLeft(revoked) ? E.left(storeFailure(revoked.left)) : E.right(undefined)
  }

/**
 * Revokes every refresh token of a user issued so far (every family started at or before now).
 * Sessions started afterwards are not affected. Access tokens already issued stay valid until
 * they expire (≤ 15 minutes by default).
 */
export const revokeUserSessions =
  (deps: Pick<SessionDeps, 'refreshTokens' | 'clock'>) =>
  async (tenant: TenantId, username: Username): Promise<E.Either<AppendError, void>> => {
    const r = await deps.refreshTokens.revokeUser(tenant, username, iso(deps.clock.now()))()
    return E.isLeft(r) ? E.left(storeFailure(r.left)) : E.right(undefined)
  }
