import { encodeUser } from '@nats-io/jwt'
import { createAccount, createCurve, createUser, fromPublic } from '@nats-io/nkeys'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isPublicNkey, nkeySigner, verifyNkey } from '../../../../src/adapters/crypto/ed25519Nkeys.js'
import { createXkeySealer } from '../../../../src/adapters/crypto/xkeySealer.js'
import { decodeNatsJwt, encodeNatsJwt } from '../../../../src/adapters/nats/auth/natsJwt.js'

const td = new TextDecoder()
const seedOf = (kp: { getSeed(): Uint8Array }) => td.decode(kp.getSeed())

describe('Ed25519 nkeys through node:crypto', () => {
  it('signs what @nats-io/nkeys verifies, and verifies what it signs', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (data) => {
        const kp = createAccount()
        const signer = nkeySigner(seedOf(kp), kp.getPublicKey())
        const ours = signer.sign(data)
        expect(fromPublic(kp.getPublicKey()).verify(data, ours)).toBe(true)
        expect(verifyNkey(kp.getPublicKey(), data, kp.sign(data))).toBe(true)
        const other = createAccount()
        expect(verifyNkey(other.getPublicKey(), data, ours)).toBe(false)
      }),
      { numRuns: 30 },
    )
  })

  it('refuses malformed public keys without throwing', () => {
    const pub = createUser().getPublicKey()
    expect(isPublicNkey(pub)).toBe(true)
    for (const bad of ['', 'U', pub.slice(0, -1), `${pub.slice(0, -1)}${pub.endsWith('A') ? 'B' : 'A'}`, 'not base32 at all!']) {
      expect(isPublicNkey(bad)).toBe(false)
      expect(verifyNkey(bad, new Uint8Array(1), new Uint8Array(64))).toBe(false)
    }
  })
})

describe('NATS JWTs', () => {
  it('reads JWTs @nats-io/jwt writes, and refuses a tampered one', async () => {
    const account = createAccount()
    const user = createUser()
    const jwt = await encodeUser('acme:k', user, account, { pub: { allow: ['a.>'] } }, { aud: 'ALLSOURCE' })
    const claims = decodeNatsJwt(jwt)
    expect(claims?.iss).toBe(account.getPublicKey())
    expect(claims?.sub).toBe(user.getPublicKey())
    const [h, b, s] = jwt.split('.') as [string, string, string]
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(b, 'base64url').toString()), name: 'globex:k' })).toString('base64url')
    expect(decodeNatsJwt(`${h}.${forged}.${s}`)).toBeUndefined()
    expect(decodeNatsJwt(`${Buffer.from('{"typ":"JWT","alg":"none"}').toString('base64url')}.${b}.`)).toBeUndefined()
    expect(decodeNatsJwt('garbage')).toBeUndefined()
  })

  it('writes JWTs whose signature verifies against the issuer', () => {
    const account = createAccount()
    const jwt = encodeNatsJwt({ sub: 'U', nats: { type: 'user', version: 2 } }, nkeySigner(seedOf(account), account.getPublicKey()))
    expect(decodeNatsJwt(jwt)?.iss).toBe(account.getPublicKey())
  })
})

describe('xkey sealing', () => {
  it('is byte-compatible with @nats-io/nkeys CurveKP in both directions', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (message) => {
        const server = createCurve()
        const callout = createCurve()
        const sealer = createXkeySealer(seedOf(callout))
        const fromServer = server.seal(message, callout.getPublicKey())
        expect(sealer.open(fromServer, server.getPublicKey())).toEqual(message)
        const toServer = sealer.seal(message, server.getPublicKey())
        expect(server.open(toServer, callout.getPublicKey())).toEqual(message)
        const tampered = Uint8Array.from(fromServer)
        tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1
        expect(sealer.open(tampered, server.getPublicKey())).toBeUndefined()
        expect(sealer.open(fromServer, createCurve().getPublicKey())).toBeUndefined()
      }),
      { numRuns: 20 },
    )
  })
})
