import type { IsoTimestamp } from '../tenants/tenant.js'
import type { Secret } from './secret.js'

/**
 * The access-token signing key ring as a pure value: one active Ed25519 key signs, older keys are
 * kept for verification until every token they signed has expired, then dropped.
 *
 * Rotation never breaks a valid token: the key it was signed with stays in the ring for
 * `retainMs` (the longest access-token lifetime plus clock tolerance) after it stops signing.
 */

/** The public half, as a JWK (RFC 8037 OKP). */
export interface PublicJwk {
  readonly kty: 'OKP'
  readonly crv: 'Ed25519'
  readonly x: string
}

export interface SigningKey {
  /** The JWK thumbprint (RFC 7638) of the public key: the `kid` header of the tokens it signs. */
  readonly kid: string
  readonly createdAt: IsoTimestamp
  readonly publicJwk: PublicJwk
  /** The private scalar `d` of the JWK, base64url. Prints as `[redacted]`. */
  readonly privateKey: Secret
  /** When it stopped signing (absent for the active key). */
  readonly retiredAt?: IsoTimestamp
  /** Exclusive: from this instant tokens it signed are no longer accepted, and it is dropped at the next rotation. */
  readonly verifyUntil?: IsoTimestamp
}

export interface KeyRing {
  /** The key that signs; never retired. */
  readonly active: SigningKey
  /** Retired keys still accepted for verification, newest first. */
  readonly retired: readonly SigningKey[]
}

export const newKeyRing = (key: SigningKey): KeyRing => ({ active: key, retired: [] })

/**
 * Makes `fresh` the active key at `now`. The previous active key is retired and accepted until
 * `now + retainMs`; retired keys whose time is up are dropped.
 */
export const rotateKeyRing = (ring: KeyRing, fresh: SigningKey, now: Date, retainMs: number): KeyRing => {
  const at = now.toISOString() as IsoTimestamp
  const until = new Date(now.getTime() + retainMs).toISOString() as IsoTimestamp
  const previous: SigningKey = { ...ring.active, retiredAt: at, verifyUntil: until }
  return { active: fresh, retired: [previous, ...ring.retired].filter((k) => stillVerifies(k, now)) }
}

const stillVerifies = (k: SigningKey, now: Date): boolean => k.verifyUntil === undefined || Date.parse(k.verifyUntil) > now.getTime()

/** The key with this `kid` if tokens it signed are still accepted at `now`. */
export const verificationKey = (ring: KeyRing, kid: string, now: Date): SigningKey | undefined =>
  [ring.active, ...ring.retired].find((k) => k.kid === kid && stillVerifies(k, now))
