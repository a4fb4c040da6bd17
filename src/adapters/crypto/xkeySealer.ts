import nacl from 'tweetnacl'
import { unpackNkey } from './ed25519Nkeys.js'

/** Seals to and opens from nats-server's xkey (curve25519 + xsalsa20-poly1305, nkeys' `xkv1` format). */
export interface XkeySealer {
  /** The plaintext of a message `sender` sealed for us; undefined if it does not open. Never throws. */
  open(message: Uint8Array, sender: string): Uint8Array | undefined
  /** `message` sealed for `recipient`, with a fresh random nonce. */
  seal(message: Uint8Array, recipient: string): Uint8Array
}

const VERSION = Uint8Array.from([120, 107, 118, 49]) // "xkv1"
const NONCE = 24

/**
 * An {@link XkeySealer} for a curve seed (`SX…`), byte-compatible with `@nats-io/nkeys`'
 * `CurveKP.seal`/`open` (header `xkv1`, 24-byte nonce, NaCl box), but keeping the shared key of
 * each peer (`box.before`: the X25519 scalar multiplication, the slow part in pure JavaScript):
 * the callout talks to a handful of servers, so each connection then costs only the symmetric box.
 */
export const createXkeySealer = (curveSeed: string): XkeySealer => {
  const secret = unpackNkey(curveSeed).subarray(2, 34)
  if (secret.length !== 32) throw new Error('not a curve seed')
  const shared = new Map<string, Uint8Array>()
  const sharedWith = (peer: string): Uint8Array => {
    let k = shared.get(peer)
    if (k === undefined) {
      const pub = unpackNkey(peer).subarray(1)
      if (pub.length !== 32) throw new Error('not a curve public key')
      k = nacl.box.before(pub, secret)
      if (shared.size >= 256) shared.clear()
      shared.set(peer, k)
    }
    return k
  }
  return {
    open(message, sender) {
      try {
        if (message.length <= VERSION.length + NONCE || VERSION.some((b, i) => message[i] !== b)) return undefined
        const nonce = message.subarray(VERSION.length, VERSION.length + NONCE)
        return nacl.box.open.after(message.subarray(VERSION.length + NONCE), nonce, sharedWith(sender)) ?? undefined
      } catch {
        return undefined
      }
    },
    seal(message, recipient) {
      const nonce = nacl.randomBytes(NONCE)
      const box = nacl.box.after(message, nonce, sharedWith(recipient))
      const out = new Uint8Array(VERSION.length + NONCE + box.length)
      out.set(VERSION, 0)
      out.set(nonce, VERSION.length)
      out.set(box, VERSION.length + NONCE)
      return out
    },
  }
}
