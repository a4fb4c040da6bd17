import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { TenantId } from '../streams/ids.js'
import { IsoTimestamp } from '../tenants/tenant.js'
import { ApiKeyId, KeyHash } from './apiKey.js'
import { TenantRole } from './roles.js'
import { type Secret, secret } from './secret.js'
import { Username } from './user.js'

/**
 * Session tokens as pure values (DESIGN.md, "Security"; issue 11): who an access token speaks for,
 * its claims, and the opaque one-time tokens (refresh tokens, invitations).
 */

/** Who a token speaks for: a user (`user:<username>`) or an API key (`key:<keyId>`), always within the token's tenant. */
export type Subject = { readonly kind: 'user'; readonly username: Username } | { readonly kind: 'key'; readonly keyId: ApiKeyId }

export const formatSubject = (s: Subject): string => (s.kind === 'user' ? `user:${s.username}` : `key:${s.keyId}`)

export const parseSubject = (text: unknown): E.Either<'malformed', Subject> => {
  if (typeof text !== 'string') return E.left('malformed')
  if (text.startsWith('user:') && Username.is(text.slice(5))) return E.right({ kind: 'user', username: text.slice(5) as Username })
  if (text.startsWith('key:') && ApiKeyId.is(text.slice(4))) return E.right({ kind: 'key', keyId: text.slice(4) as ApiKeyId })
  return E.left('malformed')
}

const SUBJECT_RE = /^(?:user|key):.{1,64}$/
const JTI_RE = /^[A-Za-z0-9_-]{16,64}$/
const SECONDS = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'Seconds')

/**
 * The claims of an access token (a JWT, RFC 9068 style). Every one is required; `iat`/`exp` are
 * NumericDates (seconds). The codec checks shapes only; signature, issuer, audience and times are
 * the verifier's.
 */
export const AccessTokenClaims = t.readonly(
  t.type({
    iss: t.string,
    aud: t.union([t.string, t.array(t.string)]),
    sub: t.refinement(t.string, (s) => SUBJECT_RE.test(s), 'Subject'),
    tenant: TenantId,
    role: TenantRole,
    iat: SECONDS,
    exp: SECONDS,
    jti: t.refinement(t.string, (s) => JTI_RE.test(s), 'Jti'),
  }),
  'AccessTokenClaims',
)
export type AccessTokenClaims = t.TypeOf<typeof AccessTokenClaims>

/** What a verified access token establishes: a tenant identity, who it speaks for, and until when. */
export interface TokenIdentity {
  readonly tenant: TenantId
  readonly role: TenantRole
  readonly subject: Subject
  /** The token's id, for audit. */
  readonly jti: string
  readonly expiresAt: IsoTimestamp
}

// ---- opaque one-time tokens: `<prefix><id>_<secret>` -------------------------------------------

/** Refresh tokens: `asr_<tokenId>_<secret>`. */
export const REFRESH_TOKEN_PREFIX = 'asr_'
/** Invitations: `asi_<inviteId>_<secret>`. */
export const INVITE_TOKEN_PREFIX = 'asi_'

const OPAQUE_RE = /^as[ri]_([0-9A-Za-z]{12})_([0-9A-Za-z]{43})$/
const OPAQUE_LENGTH = 4 + 12 + 1 + 43

/** An opaque token taken apart: a public id (to find its record) and a secret (checked against the record's keyed hash). */
export interface ParsedOpaqueToken {
  readonly id: ApiKeyId
  readonly secret: Secret
}

/** The text of an opaque token, as a {@link Secret}. `id` and `secretPart` are 12 and 43 base62 characters (the API key hasher's). */
export const formatOpaqueToken = (prefix: typeof REFRESH_TOKEN_PREFIX | typeof INVITE_TOKEN_PREFIX, id: ApiKeyId, secretPart: Secret): Secret =>
  secret(`${prefix}${id}_${secretPart.reveal()}`)

/** Takes a presented opaque token apart; total, and the error carries nothing of the input. */
export const parseOpaqueToken = (
  prefix: typeof REFRESH_TOKEN_PREFIX | typeof INVITE_TOKEN_PREFIX,
  text: unknown,
): E.Either<'malformed', ParsedOpaqueToken> => {
  if (typeof text !== 'string' || text.length !== OPAQUE_LENGTH || !text.startsWith(prefix)) return E.left('malformed')
  const m = OPAQUE_RE.exec(text)
  if (m === null) return E.left('malformed')
  return E.right({ id: m[1] as ApiKeyId, secret: secret(m[2] as string) })
}

/**
 * A refresh token as stored: the keyed hash of its secret (never the token), the user it was
 * issued to, and its family (every token descending from one login). A token is used once:
 * `rotatedAt` marks it spent; presenting a spent token again is reuse and revokes the family.
 */
export const RefreshTokenRecord = t.readonly(
  t.exact(
    t.intersection([
      t.type({
        tokenId: ApiKeyId,
        familyId: ApiKeyId,
        tenant: TenantId,
        username: Username,
        /** When the family's first token was issued (the login): per-user revocation compares with it. */
        familyCreatedAt: IsoTimestamp,
        createdAt: IsoTimestamp,
        /** Exclusive. */
        expiresAt: IsoTimestamp,
        hash: KeyHash,
      }),
      t.partial({ rotatedAt: IsoTimestamp, revokedAt: IsoTimestamp }),
    ]),
  ),
  'RefreshTokenRecord',
)
export type RefreshTokenRecord = t.TypeOf<typeof RefreshTokenRecord>

/** A refresh token record with the revocations that apply to it from outside the record. */
export interface RefreshTokenState {
  readonly record: RefreshTokenRecord
  /** The whole family was revoked (reuse detected, or logout of the family). */
  readonly familyRevokedAt?: IsoTimestamp
  /** All of the user's sessions were revoked at this instant: families created at or before it are dead. */
  readonly userRevokedAt?: IsoTimestamp
}

/** Why a refresh token may not be used now. `reused` is the one that must revoke the family. */
export type RefreshRefusal = 'revoked' | 'reused' | 'expired'

/** Whether the token may be exchanged at `now`. Revocation is reported before reuse, reuse before expiry. */
export const refreshUsable = (s: RefreshTokenState, now: Date): E.Either<RefreshRefusal, RefreshTokenRecord> => {
  const r = s.record
  if (r.revokedAt !== undefined || s.familyRevokedAt !== undefined) return E.left('revoked')
  if (s.userRevokedAt !== undefined && Date.parse(r.familyCreatedAt) <= Date.parse(s.userRevokedAt)) return E.left('revoked')
  if (r.rotatedAt !== undefined) return E.left('reused')
  if (Date.parse(r.expiresAt) <= now.getTime()) return E.left('expired')
  return E.right(r)
}
