import { createHash } from 'node:crypto'
import { type NkeySigner, verifyNkey } from '../../crypto/ed25519Nkeys.js'

/**
 * NATS JWTs (version 2, `alg: ed25519-nkey`) with `node:crypto` Ed25519: what the auth callout
 * reads (the server's authorization request) and writes (the user JWT and the authorization
 * response). The format is nats-server's (`jwt/v2`): base64url header and claims, the signature
 * over `<header>.<claims>` by the nkey named in `iss`.
 */

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' })).toString('base64url')

/** Signs `claims` (a `nats` section plus standard claims) as `signer`: sets `iss`, `iat` and `jti`. */
export const encodeNatsJwt = (claims: Readonly<Record<string, unknown>>, signer: NkeySigner, now: Date = new Date()): string => {
  const base = { ...claims, iat: Math.floor(now.getTime() / 1000), iss: signer.publicKey }
  const jti = createHash('sha256').update(JSON.stringify(base)).digest('base64url')
  const body = Buffer.from(JSON.stringify({ jti, ...base })).toString('base64url')
  const signature = Buffer.from(signer.sign(Buffer.from(`${HEADER}.${body}`))).toString('base64url')
  return `${HEADER}.${body}.${signature}`
}

/**
 * The claims of a v2 NATS JWT whose signature verifies against its own `iss`; undefined for
 * anything else (wrong shape, another algorithm, bad JSON, bad signature). Never throws. Whether
 * `iss` is the expected signer is the caller's check.
 */
export const decodeNatsJwt = (jwt: string): (Record<string, unknown> & { readonly iss: string }) | undefined => {
  const parts = jwt.split('.')
  if (parts.length !== 3) return undefined
  const [h, b, s] = parts as [string, string, string]
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown; typ?: unknown }
    if (header.alg !== 'ed25519-nkey' || (header.typ !== 'JWT' && header.typ !== 'jwt')) return undefined
    const claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8')) as Record<string, unknown>
    if (typeof claims !== 'object' || claims === null || typeof claims.iss !== 'string') return undefined
    return verifyNkey(claims.iss, Buffer.from(`${h}.${b}`), Buffer.from(s, 'base64url')) ? (claims as Record<string, unknown> & { iss: string }) : undefined
  } catch {
    return undefined
  }
}
