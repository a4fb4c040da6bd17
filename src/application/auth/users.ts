import * as E from 'fp-ts/lib/Either.js'
import type { KeyHash } from '../../domain/security/apiKey.js'
import { TenantRole } from '../../domain/security/roles.js'
import { type Secret, secret } from '../../domain/security/secret.js'
import { INVITE_TOKEN_PREFIX, type TokenIdentity, formatOpaqueToken, parseOpaqueToken } from '../../domain/security/token.js'
import {
  type UserRecord,
  type UserView,
  checkPasswordPolicy,
  deleteUserRecord,
  normalisePassword,
  parseUsername,
  userView,
  withinPasswordSize,
} from '../../domain/security/user.js'
import { type DomainError, badRequest, unauthorized, validationFailed } from '../../domain/streams/errors.js'
import { TenantId } from '../../domain/streams/ids.js'
import type { IsoTimestamp } from '../../domain/tenants/tenant.js'
import { type AppendError, notFound } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import type { ApiKeyHasher, PasswordHasher, RefreshTokenStore, UserStore } from './ports.js'
import { type IssuedTokens, type SessionDeps, revokeUserSessions, startSession, storeFailure } from './sessions.js'

/**
 * The user use cases: one function per admin request (`users.create|list|delete`, plus invite),
 * accepting an invitation, login and `me`. Who may call the admin ones (`manageUsersAndKeys` on
 * the tenant) is checked before, by `authorize`; whether the tenant exists and is active, by
 * `admit` — not here.
 */
export interface UserDeps {
  readonly users: UserStore
  readonly passwords: PasswordHasher
  /** Generates invitation ids and secrets and keyed-hashes them (the API key hasher). */
  readonly tokenHasher: ApiKeyHasher
  readonly clock: Clock
}

/** Default invitation lifetime: 7 days. */
export const DEFAULT_INVITE_TTL_MS = 7 * 86_400_000

const iso = (d: Date): IsoTimestamp => d.toISOString() as IsoTimestamp
const UNKNOWN_HASH = 'A'.repeat(43) as KeyHash
const refused = (): E.Either<DomainError, never> => E.left(unauthorized())

const checkRole = (role: unknown): E.Either<DomainError, TenantRole> =>
  TenantRole.is(role) ? E.right(role) : E.left(validationFailed('invalid role', [{ path: 'role', message: 'one of admin, developer, reader, service' }]))

const hashPassword = async (deps: UserDeps, password: Secret): Promise<UserRecord['passwordHash']> =>
  deps.passwords.hash(secret(normalisePassword(password.reveal())))

const insert = async (deps: UserDeps, record: UserRecord): Promise<E.Either<AppendError, UserView>> => {
  const created = await deps.users.create(record)()
  if (E.isRight(created)) return E.right(userView(created.right.record))
  return E.left(
    created.left._tag === 'RecordExists'
      ? badRequest(`username ${record.username} is taken in this tenant (usernames of deleted users are not reused)`, {
          field: 'username',
          username: record.username,
        })
      : storeFailure(created.left),
  )
}

/**
 * Creates a user with a password (`users.create`: `{ username, password, role }`). The username is
 * folded to lower case; a taken one (also by a deleted user) is `BadRequest`; a password against
 * the policy is `ValidationFailed` naming the rule. Answers the user without any hash.
 */
export const createUser =
  (deps: UserDeps) =>
  async (tenant: TenantId, request: { readonly username: unknown; readonly role: unknown; readonly password: Secret }): Promise<E.Either<AppendError, UserView>> => {
    const username = parseUsername(request.username)
    if (E.isLeft(username)) return username
    const role = checkRole(request.role)
    if (E.isLeft(role)) return role
    const policy = checkPasswordPolicy(request.password, username.right)
    if (E.isLeft(policy)) return policy
    const now = iso(deps.clock.now())
    return insert(deps, { tenant, username: username.right, role: role.right, createdAt: now, passwordHash: await hashPassword(deps, request.password), passwordChangedAt: now })
  }

/** A new invitation: `inviteToken` is shown here once (it prints as `[redacted]`) and stored only as a keyed hash. */
export interface Invitation {
  readonly user: UserView
  readonly inviteToken: Secret
  readonly expiresAt: IsoTimestamp
}

/**
 * Creates a user without a password and a one-time invitation token (`asi_…`, 256 random bits)
 * that sets it: {@link acceptInvite}. The token expires after `ttlMs` (default 7 days). Until it
 * is accepted nobody can log in as the user.
 */
export const inviteUser =
  (deps: UserDeps) =>
  async (tenant: TenantId, request: { readonly username: unknown; readonly role: unknown; readonly ttlMs?: number }): Promise<E.Either<AppendError, Invitation>> => {
    const username = parseUsername(request.username)
    if (E.isLeft(username)) return username
    const role = checkRole(request.role)
    if (E.isLeft(role)) return role
    const ttlMs = request.ttlMs ?? DEFAULT_INVITE_TTL_MS
    if (!(Number.isSafeInteger(ttlMs) && ttlMs > 0)) return E.left(badRequest('ttlMs must be a positive integer', { field: 'ttlMs' }))
    const now = deps.clock.now()
    const expiresAt = iso(new Date(now.getTime() + ttlMs))
    const { keyId, secret: tokenSecret } = deps.tokenHasher.generate()
    const user = await insert(deps, {
      tenant,
      username: username.right,
      role: role.right,
      createdAt: iso(now),
      invite: { tokenHash: deps.tokenHasher.hash(keyId, tokenSecret), expiresAt },
    })
    return E.map((u: UserView) => ({ user: u, inviteToken: formatOpaqueToken(INVITE_TOKEN_PREFIX, keyId, tokenSecret), expiresAt }))(user)
  }

/**
 * Accepts an invitation: sets the password and spends the token (compare-and-set, so a token is
 * accepted at most once). A password against the policy is `ValidationFailed` (checked first, so it
 * says nothing about the token); anything wrong with the user or the token (unknown, deleted,
 * already accepted, wrong, expired) is the same `Unauthorized`.
 */
export const acceptInvite =
  (deps: UserDeps) =>
  async (tenant: unknown, username: unknown, token: unknown, password: Secret): Promise<E.Either<AppendError, UserView>> => {
    const name = parseUsername(username)
    if (E.isLeft(name) || !TenantId.is(tenant)) return refused()
    const policy = checkPasswordPolicy(password, name.right)
    if (E.isLeft(policy)) return policy
    const parsed = parseOpaqueToken(INVITE_TOKEN_PREFIX, token)
    if (E.isLeft(parsed)) return refused()
    const found = await deps.users.get(tenant, name.right)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    const invite = found.right?.record.deletedAt === undefined ? found.right?.record.invite : undefined
    const matches = deps.tokenHasher.verify(parsed.right.id, parsed.right.secret, invite?.tokenHash ?? UNKNOWN_HASH)
    const now = deps.clock.now()
    if (found.right === undefined || invite === undefined || !matches || Date.parse(invite.expiresAt) <= now.getTime()) return refused()
    const { invite: _spent, ...rest } = found.right.record
    const updated = await deps.users.update({ ...rest, passwordHash: await hashPassword(deps, password), passwordChangedAt: iso(now) }, found.right.revision)()
    if (E.isLeft(updated)) return updated.left._tag === 'RevisionConflict' ? refused() : E.left(storeFailure(updated.left))
    return E.right(userView(updated.right.record))
  }

/**
 * Checks an invitation without spending it (the auth callout, for a connection that may only
 * accept it): the user exists, is not deleted, has a pending invitation that `token` matches and
 * that has not expired. Answers the user's record; every refusal is the same `Unauthorized` and
 * costs one HMAC (against a dummy hash when there is no invitation).
 */
export const checkInvitation =
  (deps: Pick<UserDeps, 'users' | 'tokenHasher' | 'clock'>) =>
  async (tenant: unknown, username: unknown, token: unknown): Promise<E.Either<AppendError, UserRecord>> => {
    const name = parseUsername(username)
    const parsed = parseOpaqueToken(INVITE_TOKEN_PREFIX, token)
    if (E.isLeft(name) || !TenantId.is(tenant) || E.isLeft(parsed)) return refused()
    const found = await deps.users.get(tenant, name.right)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    const record = found.right?.record
    const invite = record?.deletedAt === undefined ? record?.invite : undefined
    const matches = deps.tokenHasher.verify(parsed.right.id, parsed.right.secret, invite?.tokenHash ?? UNKNOWN_HASH)
    if (record === undefined || invite === undefined || !matches || Date.parse(invite.expiresAt) <= deps.clock.now().getTime()) return refused()
    return E.right(record)
  }

/** Whether a password as presented at connect is shaped like an invitation token (`asi_…`): the callout tries it as one first. */
export const looksLikeInvitation = (password: unknown): boolean => E.isRight(parseOpaqueToken(INVITE_TOKEN_PREFIX, password))

/**
 * Checks a user's password (a connection's `user: "<tenant>/<username>"`, `pass`, and {@link login})
 * and answers the user's record. Every refusal (tenant or username malformed, unknown, deleted,
 * invited but not yet set up, wrong password, oversized password) is the same `Unauthorized`, and
 * each runs one password verification (against a dummy hash when there is no real one), so an
 * unknown user costs what a wrong password costs. A hash made with older parameters is replaced
 * after a successful check (best effort: a failed write does not fail it). Whether the tenant may
 * be served is `admit`'s job, not this one's.
 */
export const checkPassword =
  (deps: Pick<UserDeps, 'users' | 'passwords'>) =>
  async (tenant: unknown, username: unknown, password: unknown): Promise<E.Either<AppendError, UserRecord>> => {
    const name = parseUsername(username)
    const usable = typeof password === 'string' && withinPasswordSize(password)
    const presented = secret(usable ? normalisePassword(password) : '')
    const found = E.isRight(name) && TenantId.is(tenant) ? await deps.users.get(tenant, name.right)() : E.right(undefined)
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    const record = found.right?.record.deletedAt === undefined ? found.right?.record : undefined
    const ok = await deps.passwords.verify(record?.passwordHash, presented)
    if (!ok || !usable || record === undefined || found.right === undefined) return refused()
    if (record.passwordHash !== undefined && deps.passwords.needsRehash(record.passwordHash)) {
      const rehashed = { ...record, passwordHash: await deps.passwords.hash(presented) }
      await deps.users.update(rehashed, found.right.revision)()
    }
    return E.right(record)
  }

/**
 * Logs a user in: `(tenant, username, password)` → an access token and a refresh token. The
 * password check is {@link checkPassword}: every refusal is the same `Unauthorized` and costs one
 * password verification.
 */
export const login =
  (deps: UserDeps & SessionDeps) =>
  async (tenant: unknown, username: unknown, password: unknown): Promise<E.Either<AppendError, IssuedTokens>> => {
    const user = await checkPassword(deps)(tenant, username, password)
    return E.isLeft(user) ? user : startSession(deps)(user.right)
  }

/** Who the caller is (`me`), from a verified access token: the token's identity, and for a user the record as listed. */
export interface Me {
  readonly tenant: TenantId
  readonly role: TenantRole
  readonly subject: TokenIdentity['subject']
  readonly user?: UserView
}

/**
 * Answers the caller's identity. For a user it reads the record: a user deleted since the token
 * was issued is `Unauthorized`. The role answered is the token's (what this token may do); the
 * record's, if it changed since, is in `user.role`.
 */
export const me =
  (deps: Pick<UserDeps, 'users'>) =>
  async (identity: TokenIdentity): Promise<E.Either<AppendError, Me>> => {
    const base = { tenant: identity.tenant, role: identity.role, subject: identity.subject }
    if (identity.subject.kind !== 'user') return E.right(base)
    const found = await deps.users.get(identity.tenant, identity.subject.username)()
    if (E.isLeft(found)) return E.left(storeFailure(found.left))
    if (found.right === undefined || found.right.record.deletedAt !== undefined) return refused()
    return E.right({ ...base, user: userView(found.right.record) })
  }

/** The tenant's users sorted by username, without hashes; deleted ones only with `includeDeleted`. Undecodable records are skipped. */
export const listUsers =
  (deps: Pick<UserDeps, 'users'>) =>
  async (tenant: TenantId, opts: { readonly includeDeleted?: boolean } = {}): Promise<E.Either<AppendError, readonly UserView[]>> => {
    const listed = await deps.users.list(tenant)()
    if (E.isLeft(listed)) return E.left(storeFailure(listed.left))
    return E.right(listed.right.users.map((s) => s.record).filter((r) => opts.includeDeleted === true || r.deletedAt === undefined).map(userView))
  }

/**
 * Deletes a user (soft: the record stays for audit without its hash or invite, and the name is
 * never reused in the tenant) and revokes all the user's refresh tokens. Idempotent: deleting a
 * deleted user answers it unchanged. An unknown name is `NotFound`. Access tokens already issued
 * expire by themselves (≤ 15 minutes); `me` refuses them at once.
 */
export const deleteUser =
  (deps: Pick<UserDeps, 'users' | 'clock'> & { readonly refreshTokens: RefreshTokenStore }) =>
  async (tenant: TenantId, username: unknown): Promise<E.Either<AppendError, UserView>> => {
    const name = parseUsername(username)
    if (E.isLeft(name)) return name
    for (let attempt = 0; attempt < 10; attempt++) {
      const found = await deps.users.get(tenant, name.right)()
      if (E.isLeft(found)) return E.left(storeFailure(found.left))
      if (found.right === undefined) return E.left(notFound(`no user ${name.right} in tenant ${tenant}`))
      const deleted = deleteUserRecord(found.right.record, iso(deps.clock.now()))
      if (deleted !== found.right.record) {
        const written = await deps.users.update(deleted, found.right.revision)()
        if (E.isLeft(written)) {
          if (written.left._tag === 'RevisionConflict') continue
          return E.left(storeFailure(written.left))
        }
      }
      const revoked = await revokeUserSessions(deps)(tenant, name.right)
      return E.isLeft(revoked) ? revoked : E.right(userView(deleted))
    }
    return E.left(storeFailure({ _tag: 'StoreUnavailable', message: `deleting ${name.right}: 10 conflicting writers in a row` }))
  }
