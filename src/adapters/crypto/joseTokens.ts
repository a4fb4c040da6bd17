import * as E from 'fp-ts/lib/Either.js'
import { type CryptoKey, SignJWT, calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose'
import { randomBytes } from 'node:crypto'
import type { KeyRingSource, SigningKeyGenerator, TokenSigner, TokenVerifier } from '../../application/auth/ports.js'
import { secret } from '../../domain/security/secret.js'
import { type SigningKey, verificationKey } from '../../domain/security/signingKeys.js'
import { AccessTokenClaims, formatSubject, parseSubject } from '../../domain/security/token.js'
import { type Unauthorized, unauthorized } from '../../domain/streams/errors.js'
import type { IsoTimestamp } from '../../domain/tenants/tenant.js'

/** Default access-token lifetime: 15 minutes. */
export const DEFAULT_ACCESS_TOKEN_TTL_MS = 15 * 60_000
/** Default clock tolerance for `exp` and `iat`: 5 seconds. */
export const DEFAULT_CLOCK_TOLERANCE_S = 5
/** Longest text looked at; anything longer is refused unread. */
export const MAX_TOKEN_LENGTH = 8_192

const ALG = 'EdDSA'
const TYP = 'at+jwt'

/** Fresh Ed25519 keys from WebCrypto (through jose); the `kid` is the RFC 7638 thumbprint of the public JWK. */
export const createEd25519KeyGenerator = (): SigningKeyGenerator => ({
  generate: async (now) => {
    const { privateKey } = await generateKeyPair('Ed25519', { extractable: true })
    const jwk = await exportJWK(privateKey)
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
      throw new Error('Ed25519 key export gave an unexpected JWK')
    }
    const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x } as const
    return { kid: await calculateJwkThumbprint(publicJwk), createdAt: now.toISOString() as IsoTimestamp, publicJwk, privateKey: secret(jwk.d) }
  },
})

export interface JoseTokenOptions {
  /** The signing key ring (created with a fresh key on first use when the store has none). */
  readonly keys: KeyRingSource
  /** `iss` of every token signed, and the only one accepted. */
  readonly issuer: string
  /** `aud` of every token signed, and the one required. */
  readonly audience: string
  /** Default {@link DEFAULT_ACCESS_TOKEN_TTL_MS}. */
  readonly ttlMs?: number
  /** Tolerance for `exp` and `iat` against `now`, seconds. Default {@link DEFAULT_CLOCK_TOLERANCE_S}. */
  readonly clockToleranceS?: number
  /** Longest `exp − iat` accepted; default the signing lifetime. A token claiming more was not made here. */
  readonly maxLifetimeMs?: number
  /** An unknown `kid` re-reads the key ring at most this often (ms, wall clock). Default 1000. */
  readonly minReloadMs?: number
}

/**
 * Access tokens as JWTs signed with Ed25519 (`alg: EdDSA`, `typ: at+jwt`, `kid` = the key's
 * thumbprint), through jose. Claims: `iss`, `aud`, `sub` (`user:<name>` or `key:<keyId>`),
 * `tenant`, `role`, `iat`, `exp`, `jti` (128 random bits).
 *
 * Verification accepts only EdDSA with a `kid` of a key still in the ring, checks the signature,
 * `typ`, `iss`, `aud`, `exp` (with tolerance), refuses an `iat` in the future (not yet valid) and a
 * lifetime longer than `maxLifetimeMs`, and decodes every claim with its codec. Every refusal is
 * the one `Unauthorized` value. An unknown `kid` re-reads the ring (another process may have
 * rotated), at most once per `minReloadMs`. A key ring that cannot be read at all rejects: an
 * outage, not a bad token.
 */
export const createJoseTokens = (opts: JoseTokenOptions): TokenSigner & TokenVerifier => {
  const ttlS = Math.floor((opts.ttlMs ?? DEFAULT_ACCESS_TOKEN_TTL_MS) / 1000)
  const tolerance = opts.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S
  const maxLifetimeS = Math.floor((opts.maxLifetimeMs ?? ttlS * 1000) / 1000)
  const minReloadMs = opts.minReloadMs ?? 1000
  const privateKeys = new Map<string, Promise<CryptoKey>>()
  const publicKeys = new Map<string, Promise<CryptoKey>>()
  const importOnce = (cache: Map<string, Promise<CryptoKey>>, k: SigningKey, withPrivate: boolean): Promise<CryptoKey> => {
    let p = cache.get(k.kid)
    if (p === undefined) {
      const jwk = withPrivate ? { ...k.publicJwk, d: k.privateKey.reveal() } : { ...k.publicJwk }
      p = importJWK(jwk, ALG) as Promise<CryptoKey>
      cache.set(k.kid, p)
    }
    return p
  }
  let lastReload = Number.NEGATIVE_INFINITY
  const refused = (): E.Either<Unauthorized, never> => E.left(unauthorized() as Unauthorized)

  const findKey = async (kid: string, now: Date): Promise<SigningKey | undefined> => {
    const found = verificationKey(await opts.keys.current(), kid, now)
    if (found !== undefined || Date.now() - lastReload < minReloadMs) return found
    lastReload = Date.now()
    return verificationKey(await opts.keys.reload(), kid, now)
  }

  return {
    sign: async (identity, now) => {
      const key = (await opts.keys.current()).active
      const iat = Math.floor(now.getTime() / 1000)
      const jti = randomBytes(16).toString('base64url')
      const jwt = await new SignJWT({ tenant: identity.tenant, role: identity.role })
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: TYP })
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(formatSubject(identity.subject))
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlS)
        .setJti(jti)
        .sign(await importOnce(privateKeys, key, true))
      return { token: secret(jwt), jti, expiresAt: new Date((iat + ttlS) * 1000).toISOString() as IsoTimestamp }
    },

    verify: async (token, now) => {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return refused()
      let kid: unknown
      let alg: unknown
      try {
        ;({ kid, alg } = decodeProtectedHeader(token))
      } catch {
        return refused()
      }
      // Checked here as well as by jwtVerify's `algorithms`: nothing but EdDSA reaches a key lookup.
      if (alg !== ALG || typeof kid !== 'string' || kid.length > 128) return refused()
      const key = await findKey(kid, now)
      if (key === undefined) return refused()
      let payload: unknown
      try {
        ;({ payload } = await jwtVerify(token, await importOnce(publicKeys, key, false), {
          algorithms: [ALG],
          typ: TYP,
          issuer: opts.issuer,
          audience: opts.audience,
          currentDate: now,
          clockTolerance: tolerance,
          requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti'],
        }))
      } catch {
        return refused()
      }
      const claims = AccessTokenClaims.decode(payload)
      if (E.isLeft(claims)) return refused()
      const c = claims.right
      const nowS = now.getTime() / 1000
      if (c.iat > nowS + tolerance || c.exp <= c.iat || c.exp - c.iat > maxLifetimeS) return refused()
      const subject = parseSubject(c.sub)
      if (E.isLeft(subject)) return refused()
      return E.right({ tenant: c.tenant, role: c.role, subject: subject.right, jti: c.jti, expiresAt: new Date(c.exp * 1000).toISOString() as IsoTimestamp })
    },
  }
}
