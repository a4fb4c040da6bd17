import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { TenantId } from '../streams/ids.js'
import { IsoTimestamp } from '../tenants/tenant.js'
import { TenantRole } from './roles.js'
import { type Secret, secret } from './secret.js'

/**
 * API keys as pure values (DESIGN.md, "Security"; issue 11).
 *
 * Format: `as_<keyId>_<secret>_<checksum>`, e.g. `as_3fZk9QwLm2Xa_<43 chars>_<6 chars>`:
 * - `as_` makes a leaked key recognisable (secret scanners, logs) and tells it apart from a JWT;
 * - `keyId`: 12 base62 characters, public (it names the key in lists, audit and revocation);
 * - `secret`: 43 base62 characters drawn uniformly (≥ 256 bits of randomness);
 * - `checksum`: CRC-32 of `as_<keyId>_<secret>` in 6 base62 characters, so a typo or a made-up
 *   string is refused before any store lookup. It is not a MAC: anyone can compute it.
 * Only base62 and `_`, so the whole key is one word to double-click and needs no escaping.
 */

export const API_KEY_PREFIX = 'as_'
export const KEY_ID_LENGTH = 12
export const SECRET_LENGTH = 43
export const CHECKSUM_LENGTH = 6
/** Length of every well-formed key: `as_` + keyId + `_` + secret + `_` + checksum. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH + 1 + CHECKSUM_LENGTH

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

const KEY_ID_RE = /^[0-9A-Za-z]{12}$/
const KEY_RE = /^as_([0-9A-Za-z]{12})_([0-9A-Za-z]{43})_([0-9A-Za-z]{6})$/
// base64url of a 32-byte HMAC-SHA-256, unpadded.
const HASH_RE = /^[A-Za-z0-9_-]{43}$/
const CONTROL_RE = /[\u0000-\u001f\u007f]/

/** The public id of a key: 12 base62 characters. */
export const ApiKeyId = t.brand(t.string, (s): s is t.Branded<string, { readonly ApiKeyId: unique symbol }> => KEY_ID_RE.test(s), 'ApiKeyId')
export type ApiKeyId = t.TypeOf<typeof ApiKeyId>

/** The stored keyed hash of a key (HMAC-SHA-256, base64url). Never the key. */
export const KeyHash = t.brand(t.string, (s): s is t.Branded<string, { readonly KeyHash: unique symbol }> => HASH_RE.test(s), 'KeyHash')
export type KeyHash = t.TypeOf<typeof KeyHash>

/** A label for a key: 1–200 characters, not only spaces, no control characters. */
export const KeyName = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly KeyName: unique symbol }> => s.length <= 200 && s.trim().length > 0 && !CONTROL_RE.test(s),
  'KeyName',
)
export type KeyName = t.TypeOf<typeof KeyName>

const viewProps = {
  keyId: ApiKeyId,
  tenant: TenantId,
  /** A tenant role: keys minted through the admin API never carry `operator`. */
  role: TenantRole,
  createdAt: IsoTimestamp,
}
const optionalProps = {
  name: KeyName,
  /** Exclusive: from this instant on the key is refused. */
  expiresAt: IsoTimestamp,
  revokedAt: IsoTimestamp,
  /** Last successful verification, recorded at most once per {@link LAST_USED_THROTTLE_MS}. */
  lastUsedAt: IsoTimestamp,
}

/** An API key as listed (`keys.list`): the record without its hash. */
export const ApiKeyView = t.readonly(t.exact(t.intersection([t.type(viewProps), t.partial(optionalProps)])), 'ApiKeyView')
export type ApiKeyView = t.TypeOf<typeof ApiKeyView>

/** An API key as stored. `hash` is the keyed hash of the key; the key itself is never stored. */
export const ApiKeyRecord = t.readonly(
  t.exact(t.intersection([t.type({ ...viewProps, hash: KeyHash }), t.partial(optionalProps)])),
  'ApiKeyRecord',
)
export type ApiKeyRecord = t.TypeOf<typeof ApiKeyRecord>

/** The body of `keys.create` (DESIGN.md, "Admin API"): `{ role, name?, expiresAt? }`. */
export const CreateKeyRequest = t.readonly(
  t.exact(t.intersection([t.type({ role: TenantRole }), t.partial({ name: KeyName, expiresAt: IsoTimestamp })])),
  'CreateKeyRequest',
)
export type CreateKeyRequest = t.TypeOf<typeof CreateKeyRequest>

/** Why a text is not an API key. Carries no part of the text. */
export interface MalformedApiKey {
  readonly _tag: 'MalformedApiKey'
  readonly reason: 'notAString' | 'format' | 'checksum'
}

/** An API key taken apart. `secret` prints as `[redacted]`. */
export interface ParsedApiKey {
  readonly keyId: ApiKeyId
  readonly secret: Secret
}

const CRC_TABLE: readonly number[] = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

/** CRC-32 (IEEE) of an ASCII string, in 6 base62 characters (62^6 > 2^32). */
export const checksumOf = (ascii: string): string => {
  let crc = 0xffffffff
  for (let i = 0; i < ascii.length; i++) crc = (CRC_TABLE[(crc ^ ascii.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8)
  let n = (crc ^ 0xffffffff) >>> 0
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

/** The full key text for `keyId` and `secretPart` (43 base62 characters), as a {@link Secret}. */
export const formatApiKey = (keyId: ApiKeyId, secretPart: Secret): Secret => {
  const body = `${API_KEY_PREFIX}${keyId}_${secretPart.reveal()}`
  return secret(`${body}_${checksumOf(body)}`)
}

/**
 * Takes a presented key apart, checking the format strictly: exact length, the `as_` prefix,
 * base62 parts of the exact lengths, and the checksum. Total: any input (non-strings included)
 * gives a value, never an exception, and the error never echoes the input.
 */
export const parseApiKey = (text: unknown): E.Either<MalformedApiKey, ParsedApiKey> => {
  if (typeof text !== 'string') return E.left({ _tag: 'MalformedApiKey', reason: 'notAString' })
  // The length check first keeps the regex off arbitrarily long input.
  const m = text.length === API_KEY_LENGTH ? KEY_RE.exec(text) : null
  if (m === null) return E.left({ _tag: 'MalformedApiKey', reason: 'format' })
  const [, keyId, secretPart, checksum] = m as unknown as [string, string, string, string]
  if (checksumOf(`${API_KEY_PREFIX}${keyId}_${secretPart}`) !== checksum) return E.left({ _tag: 'MalformedApiKey', reason: 'checksum' })
  return E.right({ keyId: keyId as ApiKeyId, secret: secret(secretPart) })
}

/** Why a stored key may not be used now. */
export type KeyUnusable =
  | { readonly _tag: 'KeyRevoked'; readonly keyId: ApiKeyId; readonly at: IsoTimestamp }
  | { readonly _tag: 'KeyExpired'; readonly keyId: ApiKeyId; readonly at: IsoTimestamp }

/** Whether `rec` may authenticate at `now`: not revoked, and `now` is before `expiresAt`. Revocation is reported first. */
export const isUsable = (rec: ApiKeyRecord, now: Date): E.Either<KeyUnusable, ApiKeyRecord> => {
  if (rec.revokedAt !== undefined) return E.left({ _tag: 'KeyRevoked', keyId: rec.keyId, at: rec.revokedAt })
  if (rec.expiresAt !== undefined && Date.parse(rec.expiresAt) <= now.getTime()) {
    return E.left({ _tag: 'KeyExpired', keyId: rec.keyId, at: rec.expiresAt })
  }
  return E.right(rec)
}

/** A new, unused, unrevoked record. */
export const newApiKeyRecord = (
  fields: { readonly keyId: ApiKeyId; readonly tenant: TenantId; readonly role: TenantRole; readonly hash: KeyHash; readonly createdAt: IsoTimestamp },
  opts: { readonly name?: KeyName; readonly expiresAt?: IsoTimestamp } = {},
): ApiKeyRecord => ({
  keyId: fields.keyId,
  tenant: fields.tenant,
  role: fields.role,
  createdAt: fields.createdAt,
  hash: fields.hash,
  ...(opts.name !== undefined ? { name: opts.name } : {}),
  ...(opts.expiresAt !== undefined ? { expiresAt: opts.expiresAt } : {}),
})

/** Revokes at `at`. Idempotent: a revoked key keeps its first `revokedAt` (the same record is returned). */
export const revoke = (rec: ApiKeyRecord, at: IsoTimestamp): ApiKeyRecord => (rec.revokedAt !== undefined ? rec : { ...rec, revokedAt: at })

/** How often `lastUsedAt` is written at most, per key: a busy key costs one store write a minute, not one per connection. */
export const LAST_USED_THROTTLE_MS = 60_000

/**
 * Records a use at `at`, unless the last recorded use is less than `throttleMs` earlier (then the
 * same record is returned, so callers can skip the write by comparing references).
 */
export const markUsed = (rec: ApiKeyRecord, at: IsoTimestamp, throttleMs: number = LAST_USED_THROTTLE_MS): ApiKeyRecord =>
  rec.lastUsedAt !== undefined && Date.parse(at) - Date.parse(rec.lastUsedAt) < throttleMs ? rec : { ...rec, lastUsedAt: at }

/** The order keys are listed in: oldest first by `createdAt` (as an instant), then by keyId. */
export const oldestFirst = (a: ApiKeyRecord, b: ApiKeyRecord): number =>
  Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0)

/** The record as listed: everything but the hash. */
export const viewOf = (rec: ApiKeyRecord): ApiKeyView => {
  const { hash: _hash, ...view } = rec
  return view
}
