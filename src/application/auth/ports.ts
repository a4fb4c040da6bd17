import type * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { ApiKeyId, ApiKeyRecord, KeyHash } from '../../domain/security/apiKey.js'
import type { TenantRole } from '../../domain/security/roles.js'
import type { Secret } from '../../domain/security/secret.js'
import type { KeyRing, SigningKey } from '../../domain/security/signingKeys.js'
import type { RefreshTokenRecord, RefreshTokenState, Subject, TokenIdentity } from '../../domain/security/token.js'
import type { PasswordHash, UserRecord, Username } from '../../domain/security/user.js'
import type { Unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { IsoTimestamp } from '../../domain/tenants/tenant.js'

/**
 * Where API key records live (in memory now; JetStream KV later). Records hold the keyed hash,
 * never a key.
 *
 * Guarantees an implementation must give:
 * - `insert` stores a record only if no record has its keyId, and says whether it did.
 * - `update` applies `change` to the current record atomically (a KV store retries on a
 *   revision conflict), so a `lastUsedAt` write racing a revocation can never un-revoke a key.
 *   When `change` returns the same record, nothing is written. No record: `undefined`.
 * - Adding, changing or revoking a key is visible to the next `get`, with no restart.
 */
export interface ApiKeyStore {
  get(keyId: ApiKeyId): Promise<ApiKeyRecord | undefined>
  insert(record: ApiKeyRecord): Promise<boolean>
  update(keyId: ApiKeyId, change: (current: ApiKeyRecord) => ApiKeyRecord): Promise<ApiKeyRecord | undefined>
  /** Every record of `tenant`, revoked ones included, oldest first. */
  listByTenant(tenant: TenantId): Promise<readonly ApiKeyRecord[]>
}

/**
 * Key material and the keyed hash (an adapter over node:crypto). The pepper it holds is a server
 * secret that never reaches this layer.
 */
export interface ApiKeyHasher {
  /** A fresh random keyId (12 base62 characters) and secret (43 base62 characters, ≥ 256 bits). */
  generate(): { readonly keyId: ApiKeyId; readonly secret: Secret }
  /** The keyed hash of this key, bound to its keyId. Deterministic for one pepper. */
  hash(keyId: ApiKeyId, secret: Secret): KeyHash
  /** Whether `secret` hashes to `expected`, compared in constant time. Never throws on a malformed `expected`. */
  verify(keyId: ApiKeyId, secret: Secret, expected: KeyHash): boolean
}

// ---- users, passwords, sessions and signing keys (issue 11) ----------------------------------

/** A record as last stored, with the revision a compare-and-set update must expect (> 0). */
export interface Stored<A> {
  readonly record: A
  readonly revision: number
}

/**
 * Expected failures of the auth stores (users, refresh tokens, signing keys):
 * - `RecordExists`: `create` of a key already stored (in any state);
 * - `RevisionConflict`: `update` expected a revision the record no longer has (or never had);
 * - `CorruptRecord`: a stored value that does not decode (never a throw); `revision` lets an update repair it;
 * - `StoreUnavailable`: no answer, or an unexpected failure: the outcome of a write is unknown.
 */
export type AuthStoreError =
  | { readonly _tag: 'RecordExists'; readonly key: string }
  | { readonly _tag: 'RevisionConflict'; readonly key: string; readonly expected: number }
  | { readonly _tag: 'CorruptRecord'; readonly key: string; readonly message: string; readonly revision: number }
  | { readonly _tag: 'StoreUnavailable'; readonly message: string }

export type CorruptRecord = Extract<AuthStoreError, { _tag: 'CorruptRecord' }>

/**
 * Where user records live, one per (tenant, username). Usernames are stored folded to lower case,
 * so uniqueness is case-insensitive.
 *
 * Guarantees an implementation must give:
 * - `get` answers the last stored record (soft-deleted ones too) or `undefined` for a name never created.
 * - `create` stores only if the (tenant, username) was never stored; otherwise `RecordExists`.
 *   Of concurrent creates of one name, exactly one wins.
 * - `update` is compare-and-set on the revision: of writers racing from one revision, exactly one wins.
 * - `list` answers the tenant's records (deleted ones included) sorted by username, and reports
 *   undecodable ones in `corrupt` instead of failing.
 */
export interface UserStore {
  get(tenant: TenantId, username: Username): TE.TaskEither<AuthStoreError, Stored<UserRecord> | undefined>
  create(record: UserRecord): TE.TaskEither<AuthStoreError, Stored<UserRecord>>
  update(record: UserRecord, expectedRevision: number): TE.TaskEither<AuthStoreError, Stored<UserRecord>>
  list(tenant: TenantId): TE.TaskEither<AuthStoreError, { readonly users: readonly Stored<UserRecord>[]; readonly corrupt: readonly CorruptRecord[] }>
}

/**
 * Password hashing (an adapter over argon2id). Passwords arrive as {@link Secret}s, already
 * normalised by the caller; hashes carry their salt and parameters.
 */
export interface PasswordHasher {
  hash(password: Secret): Promise<PasswordHash>
  /**
   * Whether `password` matches `hash`, compared in constant time by the hashing library. With no
   * hash (an unknown user, a user without a password) it verifies against a dummy hash of the same
   * parameters and answers false, so that refusal costs what a wrong password costs. Never throws
   * on a malformed hash (answers false).
   */
  verify(hash: PasswordHash | undefined, password: Secret): Promise<boolean>
  /** Whether a stored hash was made with other parameters than the current ones (rehash it at the next login). */
  needsRehash(hash: PasswordHash): boolean
}

/**
 * Refresh tokens by tokenId, plus revocation marks for whole families and whole users.
 *
 * Guarantees an implementation must give:
 * - `get` answers the record with the family's and the user's revocation marks, or `undefined`.
 * - `create` stores only a tokenId never stored (`RecordExists` otherwise); `update` is
 *   compare-and-set on the revision, so of two exchanges of one token exactly one wins.
 * - `revokeFamily` keeps the first instant; `revokeUser` keeps the latest. Both are idempotent
 *   and visible to the next `get`.
 */
export interface RefreshTokenStore {
  get(tokenId: ApiKeyId): TE.TaskEither<AuthStoreError, (RefreshTokenState & { readonly revision: number }) | undefined>
  create(record: RefreshTokenRecord): TE.TaskEither<AuthStoreError, Stored<RefreshTokenRecord>>
  update(record: RefreshTokenRecord, expectedRevision: number): TE.TaskEither<AuthStoreError, Stored<RefreshTokenRecord>>
  revokeFamily(familyId: ApiKeyId, at: IsoTimestamp): TE.TaskEither<AuthStoreError, void>
  revokeUser(tenant: TenantId, username: Username, at: IsoTimestamp): TE.TaskEither<AuthStoreError, void>
}

/**
 * The one signing key ring. `create` stores a first ring only if none is stored (`RecordExists`);
 * `update` is compare-and-set, so two processes rotating at once cannot both win.
 */
export interface SigningKeyStore {
  load(): TE.TaskEither<AuthStoreError, Stored<KeyRing> | undefined>
  create(ring: KeyRing): TE.TaskEither<AuthStoreError, Stored<KeyRing>>
  update(ring: KeyRing, expectedRevision: number): TE.TaskEither<AuthStoreError, Stored<KeyRing>>
}

/** Fresh Ed25519 signing keys (an adapter over jose / WebCrypto). */
export interface SigningKeyGenerator {
  generate(now: Date): Promise<SigningKey>
}

/** The signing key ring as the token adapter sees it: the current one, and a re-read from the store. */
export interface KeyRingSource {
  /** The ring (loaded, or created with a fresh key when the store has none). */
  current(): Promise<KeyRing>
  /** Re-reads the store now (a verifier met an unknown `kid`: another process may have rotated). */
  reload(): Promise<KeyRing>
}

/** A signed access token: the JWT (a {@link Secret}), its id, and when it expires. */
export interface SignedAccessToken {
  readonly token: Secret
  readonly jti: string
  readonly expiresAt: IsoTimestamp
}

/** Signs access tokens with the ring's active key. `iss`, `aud`, lifetime and `jti` are the signer's. */
export interface TokenSigner {
  sign(identity: { readonly tenant: TenantId; readonly role: TenantRole; readonly subject: Subject }, now: Date): Promise<SignedAccessToken>
}

/**
 * Checks an access token at `now`. Anything wrong (malformed, tampered, unknown or dropped `kid`,
 * another key, `alg` other than EdDSA, `alg: none`, expired, not yet valid, wrong `iss`/`aud`/`typ`,
 * a missing or ill-typed claim) is the same `Unauthorized` value; it never throws.
 */
export interface TokenVerifier {
  verify(token: unknown, now: Date): Promise<E.Either<Unauthorized, TokenIdentity>>
}
