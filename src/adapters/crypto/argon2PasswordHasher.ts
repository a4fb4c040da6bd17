import * as argon2 from 'argon2'
import { randomBytes } from 'node:crypto'
import type { PasswordHasher } from '../../application/auth/ports.js'
import { type Secret } from '../../domain/security/secret.js'
import { PasswordHash } from '../../domain/security/user.js'

/** argon2id cost parameters. */
export interface Argon2Parameters {
  /** Memory in KiB. */
  readonly memoryCost: number
  /** Passes over the memory. */
  readonly timeCost: number
  /** Lanes. */
  readonly parallelism: number
}

/**
 * The OWASP Password Storage Cheat Sheet's first argon2id configuration: 19 MiB of memory, 2
 * passes, 1 lane (equivalent in cost to its other listed trade-offs, e.g. 46 MiB × 1 pass). A
 * 16-byte random salt and a 32-byte hash, version 0x13, stored as a PHC string.
 */
export const OWASP_ARGON2ID: Argon2Parameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/**
 * Password hashing with the `argon2` package (the reference C implementation, argon2id only).
 * Verification is the library's (it recomputes and compares in constant time). Parameters may be
 * raised at any time: old hashes still verify (their parameters are in the hash), and
 * `needsRehash` tells the login to store a new hash.
 *
 * Lower parameters are for tests only; production wiring should use the default.
 */
export const createArgon2PasswordHasher = (params: Argon2Parameters = OWASP_ARGON2ID): PasswordHasher => {
  const options: argon2.HashOptions = { type: argon2.argon2id, memoryCost: params.memoryCost, timeCost: params.timeCost, parallelism: params.parallelism, hashLength: 32 }
  const hash = async (password: Secret): Promise<PasswordHash> => {
    const phc = await argon2.hash(password.reveal(), options)
    if (!PasswordHash.is(phc)) throw new Error('argon2 produced a hash in an unexpected format')
    return phc
  }
  // A hash of a random password with the same parameters: verifying against it costs what a real
  // verification costs, and can never succeed. Made once, on first need.
  let dummy: Promise<PasswordHash> | undefined
  const dummyHash = (): Promise<PasswordHash> => (dummy ??= argon2.hash(randomBytes(32), options).then((h) => h as PasswordHash))

  return {
    hash,
    verify: async (stored, password) => {
      if (stored === undefined) {
        await argon2.verify(await dummyHash(), password.reveal()).catch(() => false)
        return false
      }
      try {
        return await argon2.verify(stored, password.reveal())
      } catch {
        return false
      }
    },
    needsRehash: (stored) => {
      try {
        return argon2.needsRehash(stored, { memoryCost: params.memoryCost, timeCost: params.timeCost, parallelism: params.parallelism })
      } catch {
        return true
      }
    },
  }
}
