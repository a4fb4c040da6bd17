import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'

/**
 * Ed25519 for NATS nkeys through `node:crypto` (OpenSSL), about 100× faster than the pure
 * JavaScript signing in `@nats-io/nkeys`; the auth callout signs two JWTs and checks one per
 * connection. Only the encodings are nkeys': a public key is base32 of [prefix, 32 key bytes,
 * CRC-16]; a seed is base32 of [2 prefix bytes, 32 seed bytes, CRC-16].
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 without padding; throws on a character outside the alphabet. */
const base32Decode = (text: string): Uint8Array => {
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch)
    if (v < 0) throw new Error('not base32')
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Uint8Array.from(out)
}

const crc16 = (bytes: Uint8Array): number => {
  let crc = 0
  for (const b of bytes) {
    crc ^= b << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** The payload of an nkey encoding, after checking its CRC-16 (little-endian, as nkeys writes it). */
export const unpackNkey = (text: string): Uint8Array => {
  const raw = base32Decode(text)
  if (raw.length < 3) throw new Error('nkey too short')
  const body = raw.subarray(0, raw.length - 2)
  const crc = (raw[raw.length - 2] as number) | ((raw[raw.length - 1] as number) << 8)
  if (crc16(body) !== crc) throw new Error('nkey checksum')
  return body
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

/** A signer for an nkey seed (`S…`): its public nkey is unchanged; `sign` is plain Ed25519. */
export interface NkeySigner {
  readonly publicKey: string
  sign(data: Uint8Array): Uint8Array
}

/** A signer from an nkey seed and its public key (given, e.g. from `@nats-io/nkeys`, so no re-encoding is needed here). */
export const nkeySigner = (seed: string, publicKey: string): NkeySigner => {
  const body = unpackNkey(seed)
  const raw = body.subarray(2, 34)
  if (raw.length !== 32) throw new Error('not an ed25519 nkey seed')
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, raw]), format: 'der', type: 'pkcs8' })
  return { publicKey, sign: (data) => new Uint8Array(sign(null, data, key)) }
}

const publicKeys = new Map<string, KeyObject>()

/** The Ed25519 key of a public nkey (`N…`, `U…`, `A…`); cached (server ids repeat), bounded. */
const publicKeyOf = (nkey: string): KeyObject => {
  let k = publicKeys.get(nkey)
  if (k === undefined) {
    const raw = unpackNkey(nkey).subarray(1)
    if (raw.length !== 32) throw new Error('not an ed25519 public nkey')
    k = createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' })
    if (publicKeys.size >= 1_000) publicKeys.clear()
    publicKeys.set(nkey, k)
  }
  return k
}

/** Whether `signature` is `nkey`'s Ed25519 signature of `data`. False (never a throw) for a malformed key. */
export const verifyNkey = (nkey: string, data: Uint8Array, signature: Uint8Array): boolean => {
  try {
    return verify(null, data, publicKeyOf(nkey), signature)
  } catch {
    return false
  }
}

/** Whether `text` is a well-formed public nkey (valid base32, checksum, 32 key bytes). */
export const isPublicNkey = (text: string): boolean => {
  try {
    publicKeyOf(text)
    return true
  } catch {
    return false
  }
}
