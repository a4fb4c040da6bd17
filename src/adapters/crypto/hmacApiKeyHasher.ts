import { createHmac, randomInt, timingSafeEqual } from 'node:crypto'
import type { ApiKeyHasher } from '../../application/auth/ports.js'
import { type ApiKeyId, BASE62, KEY_ID_LENGTH, type KeyHash, SECRET_LENGTH } from '../../domain/security/apiKey.js'
import { type Secret, secret } from '../../domain/security/secret.js'

/** The shortest pepper accepted: 32 bytes, the HMAC-SHA-256 block's worth of key strength. */
export const MIN_PEPPER_BYTES = 32

export interface HmacApiKeyHasherOptions {
  /**
   * The server pepper: a secret of at least 32 bytes, kept outside the key store (so a copy of the
   * store alone cannot test guesses). Required; there is no default.
   */
  readonly pepper: Uint8Array | string
}

// Each character drawn uniformly from 62 (randomInt rejects biased draws): 43 × log2(62) ≈ 256.03 bits.
const randomBase62 = (length: number): string => {
  let out = ''
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)]
  return out
}

/**
 * API key hashing with node:crypto: keys are stored as HMAC-SHA-256(pepper, `v1:<keyId>:<secret>`),
 * base64url. A plain hash suffices for ≥ 256-bit random secrets (no password stretching needed);
 * the pepper makes a leaked store useless for offline checks, and the keyId in the message binds a
 * hash to its record. Verification compares the 32-byte digests with `crypto.timingSafeEqual`.
 *
 * Throws at construction without a pepper of at least 32 bytes, so a server cannot start with a
 * guessable one. The pepper is never put in an error or on the returned object.
 */
export const createHmacApiKeyHasher = (opts: HmacApiKeyHasherOptions): ApiKeyHasher => {
  const raw = (opts as Partial<HmacApiKeyHasherOptions> | undefined)?.pepper
  const pepper = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw instanceof Uint8Array ? Buffer.from(raw) : undefined
  if (pepper === undefined || pepper.length < MIN_PEPPER_BYTES) {
    throw new Error(
      `API key hashing needs a server pepper of at least ${MIN_PEPPER_BYTES} bytes (a secret kept outside the key store); ` +
        `${pepper === undefined ? 'none was given' : `the one given has ${pepper.length}`}. There is no default.`,
    )
  }
  const digest = (keyId: ApiKeyId, s: Secret): Buffer => createHmac('sha256', pepper).update(`v1:${keyId}:${s.reveal()}`, 'utf8').digest()

  return {
    generate: () => ({ keyId: randomBase62(KEY_ID_LENGTH) as ApiKeyId, secret: secret(randomBase62(SECRET_LENGTH)) }),
    hash: (keyId, s) => digest(keyId, s).toString('base64url') as KeyHash,
    verify: (keyId, s, expected) => {
      const actual = digest(keyId, s)
      const stored = Buffer.from(String(expected), 'base64url')
      // timingSafeEqual needs equal lengths; a malformed stored hash is compared with itself and refused.
      if (stored.length !== actual.length) {
        timingSafeEqual(actual, actual)
        return false
      }
      return timingSafeEqual(actual, stored)
    },
  }
}
