import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type DomainError, validationFailed } from '../streams/errors.js'
import { TenantId } from '../streams/ids.js'
import { IsoTimestamp } from '../tenants/tenant.js'
import { KeyHash } from './apiKey.js'
import { TenantRole } from './roles.js'
import type { Secret } from './secret.js'

/**
 * Users of a tenant as pure values (DESIGN.md, "Security"; issue 11): the record, the username
 * rules and the password policy. Hashing and storage are ports of the application layer.
 */

/**
 * A username as stored: 1–64 characters of `a–z 0–9 . _ -`, lower case, starting and ending with a
 * letter or digit, no `..`. Lower case because usernames are unique per tenant case-insensitively:
 * {@link parseUsername} folds what a person types (`Alice.Smith`) to the one stored form
 * (`alice.smith`). The alphabet makes every username a valid NATS subject/KV key part (a dot is a
 * token separator, hence no leading, trailing or doubled dot) and safe in `<tenant>/<username>`.
 */
const USERNAME_RE = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/
export const Username = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly Username: unique symbol }> => USERNAME_RE.test(s) && !s.includes('..'),
  'Username',
)
export type Username = t.TypeOf<typeof Username>

/**
 * What a person typed as a username, folded to its stored form: ASCII lower case (the alphabet is
 * ASCII, so nothing else folds), then checked. Total; an invalid name is `ValidationFailed` at
 * `username`, quoting the rule and never more than the first 64 characters of the input.
 */
export const parseUsername = (text: unknown): E.Either<DomainError, Username> => {
  const folded = typeof text === 'string' && text.length <= 64 ? text.toLowerCase() : undefined
  return folded !== undefined && Username.is(folded)
    ? E.right(folded)
    : E.left(
        validationFailed('invalid username', [
          {
            path: 'username',
            message: '1–64 characters of a–z 0–9 . _ - (case-insensitive), starting and ending with a letter or digit, without ".."',
          },
        ]),
      )
}

/**
 * An argon2id hash in the PHC string format (`$argon2id$v=19$m=…,p=…,t=…$<salt>$<hash>`): salt and
 * parameters travel with the hash, so parameters can be raised without breaking old hashes.
 */
const PHC_RE = /^\$argon2id\$v=\d+\$[a-z]=\d+(?:,[a-z]=\d+){2,4}\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/
export const PasswordHash = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly PasswordHash: unique symbol }> => s.length <= 512 && PHC_RE.test(s),
  'PasswordHash',
)
export type PasswordHash = t.TypeOf<typeof PasswordHash>

/** A pending invitation: the keyed hash of its one-time token (never the token) and when it stops working (exclusive). */
export const PendingInvite = t.readonly(t.exact(t.type({ tokenHash: KeyHash, expiresAt: IsoTimestamp })), 'PendingInvite')
export type PendingInvite = t.TypeOf<typeof PendingInvite>

const viewProps = {
  tenant: TenantId,
  username: Username,
  /** A tenant role; the codec refuses `operator`, so no user is ever a platform operator. */
  role: TenantRole,
  createdAt: IsoTimestamp,
}
const viewOptional = {
  /** Soft deletion: the record stays (audit), the name is never reused in the tenant, and nothing authenticates as it. */
  deletedAt: IsoTimestamp,
  passwordChangedAt: IsoTimestamp,
}

/** A user as listed and as `me` answers: no hash, no invite token hash. `invitePending` tells an invited user who has not set a password yet. */
export const UserView = t.readonly(
  t.exact(t.intersection([t.type({ ...viewProps, invitePending: t.boolean }), t.partial(viewOptional)])),
  'UserView',
)
export type UserView = t.TypeOf<typeof UserView>

/**
 * A user as stored. `passwordHash` is absent until an invited user accepts the invitation; a
 * record has a password hash, or a pending invite, or (once deleted) possibly neither.
 */
export const UserRecord = t.readonly(
  t.exact(t.intersection([t.type(viewProps), t.partial({ ...viewOptional, passwordHash: PasswordHash, invite: PendingInvite })])),
  'UserRecord',
)
export type UserRecord = t.TypeOf<typeof UserRecord>

/** The record as listed: no hash, no invite hash. */
export const userView = (rec: UserRecord): UserView => ({
  tenant: rec.tenant,
  username: rec.username,
  role: rec.role,
  createdAt: rec.createdAt,
  invitePending: rec.invite !== undefined,
  ...(rec.passwordChangedAt !== undefined ? { passwordChangedAt: rec.passwordChangedAt } : {}),
  ...(rec.deletedAt !== undefined ? { deletedAt: rec.deletedAt } : {}),
})

/** Soft-deletes at `at`. Idempotent (the first `deletedAt` stays); drops the password hash and any invite, so nothing can authenticate as the record again. */
export const deleteUserRecord = (rec: UserRecord, at: IsoTimestamp): UserRecord => {
  if (rec.deletedAt !== undefined) return rec
  const { passwordHash: _p, invite: _i, ...rest } = rec
  return { ...rest, deletedAt: at }
}

/**
 * The password policy (NIST SP 800-63B §3.1.1.2 in spirit: length, not composition rules):
 * - at least {@link MIN_PASSWORD_CHARS} characters (Unicode code points, after NFKC normalisation);
 * - at most {@link MAX_PASSWORD_BYTES} bytes of UTF-8, which bounds the hashing work one request can ask for;
 * - not the username, in any case.
 * Any character is allowed, spaces and emoji included. Passwords are NFKC-normalised before
 * hashing and before verification, so the same password typed on two keyboards (composed or
 * decomposed accents, full-width digits) is the same password.
 */
export const MIN_PASSWORD_CHARS = 12
export const MAX_PASSWORD_BYTES = 1024

/** The form a password is hashed in: NFKC. */
export const normalisePassword = (password: string): string => password.normalize('NFKC')

const utf8Length = (s: string): number => {
  let n = 0
  for (const ch of s) {
    const c = ch.codePointAt(0) as number
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
  }
  return n
}

/** Whether a presented password is short enough to be worth hashing (the byte cap, nothing else). */
export const withinPasswordSize = (password: string): boolean => password.length <= MAX_PASSWORD_BYTES && utf8Length(password) <= MAX_PASSWORD_BYTES

/**
 * Checks a new password against the policy. The error names the rule broken, at path `password`,
 * and never contains the password.
 */
export const checkPasswordPolicy = (password: Secret, username: Username): E.Either<DomainError, Secret> => {
  const raw = password.reveal()
  const fail = (message: string) => E.left(validationFailed('the password does not meet the policy', [{ path: 'password', message }]))
  if (typeof raw !== 'string') return fail('must be a string')
  if (!withinPasswordSize(raw)) return fail(`at most ${MAX_PASSWORD_BYTES} bytes (UTF-8)`)
  const normal = normalisePassword(raw)
  if ([...normal].length < MIN_PASSWORD_CHARS) return fail(`at least ${MIN_PASSWORD_CHARS} characters`)
  if (normal.toLowerCase() === username) return fail('must not be the username')
  return E.right(password)
}
