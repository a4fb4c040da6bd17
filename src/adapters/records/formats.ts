import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { secret } from '../../domain/security/secret.js'
import type { KeyRing, SigningKey } from '../../domain/security/signingKeys.js'
import { RefreshTokenRecord } from '../../domain/security/token.js'
import { UserRecord } from '../../domain/security/user.js'
import { IsoTimestamp } from '../../domain/tenants/tenant.js'
import type { RecordFormat } from './recordBucket.js'

/** The first problem a codec found, as `path is not Type`. */
export const describeErrors = (errors: t.Errors, what: string): string => {
  const first = errors[0]
  if (first === undefined) return `invalid ${what}`
  const path = first.context
    .map((c) => c.key)
    .filter((k) => k !== '' && !/^\d+$/.test(k))
    .join('.')
  return first.message ?? `${path === '' ? 'the record' : path} is not ${first.context[first.context.length - 1]?.type.name ?? what}`
}

const codecFormat = <A, O>(codec: t.Type<A, O, unknown>, what: string, keyOf: (a: A) => string): RecordFormat<A> => ({
  encode: (a) => codec.encode(a),
  decode: (key, json) => {
    const r = codec.decode(json)
    if (E.isLeft(r)) return E.left(describeErrors(r.left, what))
    return keyOf(r.right) === key ? E.right(r.right) : E.left(`the record belongs under ${keyOf(r.right)}, stored under ${key}`)
  },
})

/** Users under `<tenant>.<username>` (both are valid KV key parts; a username's dots are extra tokens). */
export const userKey = (tenant: string, username: string): string => `${tenant}.${username}`
export const userFormat = codecFormat(UserRecord, 'a user record', (u) => userKey(u.tenant, u.username))

/** Refresh tokens under `t.<tokenId>`; family marks under `f.<familyId>`; user marks under `u.<tenant>.<username>`. */
export const refreshTokenKey = (tokenId: string): string => `t.${tokenId}`
export const familyMarkKey = (familyId: string): string => `f.${familyId}`
export const userMarkKey = (tenant: string, username: string): string => `u.${tenant}.${username}`
export const refreshTokenFormat = codecFormat(RefreshTokenRecord, 'a refresh token record', (r) => refreshTokenKey(r.tokenId))

/** A revocation mark: the instant it took effect. */
export const RevocationMark = t.readonly(t.exact(t.type({ at: IsoTimestamp })), 'RevocationMark')
export type RevocationMark = t.TypeOf<typeof RevocationMark>
export const markFormat: RecordFormat<RevocationMark> = {
  encode: (m) => RevocationMark.encode(m),
  decode: (_key, json) => E.mapLeft((es: t.Errors) => describeErrors(es, 'a revocation mark'))(RevocationMark.decode(json)),
}

const B64URL = t.refinement(t.string, (s) => /^[A-Za-z0-9_-]{43}$/.test(s), 'Ed25519Base64url')
const StoredKey = t.exact(
  t.intersection([
    t.type({ kid: t.string, createdAt: IsoTimestamp, kty: t.literal('OKP'), crv: t.literal('Ed25519'), x: B64URL, d: B64URL }),
    t.partial({ retiredAt: IsoTimestamp, verifyUntil: IsoTimestamp }),
  ]),
)
type StoredKey = t.TypeOf<typeof StoredKey>
const StoredRing = t.exact(t.type({ active: StoredKey, retired: t.array(StoredKey) }))

const toStored = (k: SigningKey): StoredKey => ({
  kid: k.kid,
  createdAt: k.createdAt,
  kty: 'OKP',
  crv: 'Ed25519',
  x: k.publicJwk.x,
  // The one place the private key leaves its Secret: the stored ring is the key material.
  d: k.privateKey.reveal(),
  ...(k.retiredAt !== undefined ? { retiredAt: k.retiredAt } : {}),
  ...(k.verifyUntil !== undefined ? { verifyUntil: k.verifyUntil } : {}),
})
const fromStored = (s: StoredKey): SigningKey => ({
  kid: s.kid,
  createdAt: s.createdAt,
  publicJwk: { kty: 'OKP', crv: 'Ed25519', x: s.x },
  privateKey: secret(s.d),
  ...(s.retiredAt !== undefined ? { retiredAt: s.retiredAt } : {}),
  ...(s.verifyUntil !== undefined ? { verifyUntil: s.verifyUntil } : {}),
})

/** The key ring under `ring`: private keys as the `d` of an OKP JWK, wrapped in a Secret once read. */
export const KEY_RING_KEY = 'ring'
export const keyRingFormat: RecordFormat<KeyRing> = {
  encode: (r) => ({ active: toStored(r.active), retired: r.retired.map(toStored) }),
  decode: (_key, json) => {
    const r = StoredRing.decode(json)
    if (E.isLeft(r)) return E.left(describeErrors(r.left, 'a signing key ring'))
    return E.right({ active: fromStored(r.right.active), retired: r.right.retired.map(fromStored) })
  },
}
