import * as E from 'fp-ts/lib/Either.js'
import { SignJWT, base64url, generateKeyPair, importJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { createEd25519KeyGenerator, createJoseTokens } from '../../../src/adapters/crypto/joseTokens.js'
import { createInMemorySigningKeyStore } from '../../../src/adapters/memory/inMemoryAuthStores.js'
import { createKeyRingSource, rotateSigningKey } from '../../../src/application/auth/keyRing.js'
import type { KeyRingSource, SigningKeyStore } from '../../../src/application/auth/ports.js'
import type { SigningKey } from '../../../src/domain/security/signingKeys.js'
import type { Username } from '../../../src/domain/security/user.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'

const t0 = new Date('2026-12-04T13:00:00.000Z')
const plus = (ms: number) => new Date(t0.getTime() + ms)
const alice = { tenant: 'acme' as TenantId, role: 'developer' as const, subject: { kind: 'user' as const, username: 'alice' as Username } }
const refused = E.left({ _tag: 'Unauthorized', message: 'missing or invalid credentials' })
const opts = { issuer: 'allsource', audience: 'allsource' }

const setup = (store: SigningKeyStore = createInMemorySigningKeyStore()) => {
  let now = t0
  const clock = { now: () => now }
  const deps = { store, generator: createEd25519KeyGenerator(), clock }
  let reloads = 0
  const base = createKeyRingSource(deps, { cacheMs: 0 })
  const keys: KeyRingSource = {
    current: () => base.current(),
    reload: () => {
      reloads++
      return base.reload()
    },
  }
  return { deps, keys, tokens: createJoseTokens({ ...opts, keys, minReloadMs: 0 }), setNow: (d: Date) => (now = d), reloads: () => reloads }
}

const privateKeyOf = (k: SigningKey) => importJWK({ ...k.publicJwk, d: k.privateKey.reveal() }, 'EdDSA')
const goodClaims = (iat = Math.floor(t0.getTime() / 1000)) => ({ tenant: 'acme', role: 'developer', sub: 'user:alice', jti: 'abcdefghijklmnopqrstuv', iat, exp: iat + 900, iss: 'allsource', aud: 'allsource' })
const forge = async (key: Parameters<SignJWT['sign']>[0], header: Record<string, unknown>, claims: Record<string, unknown> = goodClaims()) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...header } as never).sign(key)

describe('access tokens (jose, EdDSA)', () => {
  it('a signed token verifies as the identity it was signed for, with every claim and a kid header', async () => {
    const { tokens, keys } = setup()
    const signed = await tokens.sign(alice, t0)
    const jwt = signed.token.reveal()
    const [h, p] = jwt.split('.').slice(0, 2).map((s) => JSON.parse(new TextDecoder().decode(base64url.decode(s as string))) as Record<string, unknown>) as [Record<string, unknown>, Record<string, unknown>]
    expect(h).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: (await keys.current()).active.kid })
    expect(Object.keys(p).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'role', 'sub', 'tenant'].sort())
    expect(p).toMatchObject({ iss: 'allsource', aud: 'allsource', sub: 'user:alice', tenant: 'acme', role: 'developer', exp: (p.iat as number) + 900 })
    expect(signed.expiresAt).toBe(plus(900_000).toISOString())
    expect(await tokens.verify(jwt, plus(60_000))).toEqual(E.right({ ...alice, jti: signed.jti, expiresAt: signed.expiresAt }))
    expect(JSON.stringify(signed)).not.toContain(jwt)
  })

  it('refuses an expired token and a not-yet-valid one (iat or nbf in the future)', async () => {
    const { tokens, keys } = setup()
    const jwt = (await tokens.sign(alice, t0)).token.reveal()
    expect(E.isRight(await tokens.verify(jwt, plus(900_000 + 4_000)))).toBe(true) // within the 5 s tolerance
    expect(await tokens.verify(jwt, plus(900_000 + 5_000))).toEqual(refused)
    const later = (await tokens.sign(alice, plus(60_000))).token.reveal()
    expect(await tokens.verify(later, t0)).toEqual(refused)
    const active = (await keys.current()).active
    const nbf = await forge(await privateKeyOf(active), { kid: active.kid }, { ...goodClaims(), nbf: Math.floor(t0.getTime() / 1000) + 60 })
    expect(await tokens.verify(nbf, t0)).toEqual(refused)
  })

  it('refuses tampered tokens: a changed claim, a changed signature', async () => {
    const { tokens } = setup()
    const [h, p, s] = (await tokens.sign(alice, t0)).token.reveal().split('.') as [string, string, string]
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p))) as Record<string, unknown>
    const asAdmin = base64url.encode(JSON.stringify({ ...claims, role: 'admin' }))
    expect(await tokens.verify(`${h}.${asAdmin}.${s}`, t0)).toEqual(refused)
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11)
    expect(await tokens.verify(`${h}.${p}.${flipped}`, t0)).toEqual(refused)
  })

  it('refuses a token signed by another key under a known kid, and an unknown kid (after re-reading the ring once)', async () => {
    const { tokens, keys, reloads } = setup()
    const kid = (await keys.current()).active.kid
    const other = await generateKeyPair('Ed25519')
    expect(await tokens.verify(await forge(other.privateKey, { kid }), t0)).toEqual(refused)
    expect(reloads()).toBe(0)
    expect(await tokens.verify(await forge(other.privateKey, { kid: 'not-a-kid-of-ours' }), t0)).toEqual(refused)
    expect(reloads()).toBe(1)
    expect(await tokens.verify(await forge(other.privateKey, {}), t0)).toEqual(refused)
  })

  it('refuses alg none and every alg other than EdDSA, even with the right kid', async () => {
    const { tokens, keys } = setup()
    const active = (await keys.current()).active
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o))
    const payload = enc(goodClaims())
    for (const header of [{ alg: 'none' }, { alg: 'none', kid: active.kid, typ: 'at+jwt' }, { alg: 'NONE', kid: active.kid }]) {
      expect(await tokens.verify(`${enc(header)}.${payload}.`, t0)).toEqual(refused)
      expect(await tokens.verify(`${enc(header)}.${payload}`, t0)).toEqual(refused)
    }
    // HS256 keyed with the public key's bytes (the classic algorithm confusion).
    const hs = await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'HS256', kid: active.kid, typ: 'at+jwt' }).sign(base64url.decode(active.publicJwk.x))
    expect(await tokens.verify(hs, t0)).toEqual(refused)
    const es = await generateKeyPair('ES256')
    expect(await tokens.verify(await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'at+jwt' }).sign(es.privateKey), t0)).toEqual(refused)
    // The same valid signature under a header that claims another alg no longer matches.
    const good = (await tokens.sign(alice, t0)).token.reveal().split('.')
    expect(await tokens.verify(`${enc({ alg: 'Ed25519', kid: active.kid, typ: 'at+jwt' })}.${good[1]}.${good[2]}`, t0)).toEqual(refused)
  })

  it('refuses a wrong iss, aud or typ, missing or ill-typed claims, and an overlong lifetime, all signed with the real key', async () => {
    const { tokens, keys } = setup()
    const active = (await keys.current()).active
    const key = await privateKeyOf(active)
    const kid = active.kid
    const { tenant: _tenant, ...noTenant } = goodClaims()
    const { jti: _jti, ...noJti } = goodClaims()
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ kid }, { ...goodClaims(), iss: 'someone-else' }],
      [{ kid }, { ...goodClaims(), aud: 'another-service' }],
      [{ kid, typ: 'JWT' }, goodClaims()],
      [{ kid }, noTenant],
      [{ kid }, noJti],
      [{ kid }, { ...goodClaims(), role: 'operator' }],
      [{ kid }, { ...goodClaims(), tenant: 'bad tenant' }],
      [{ kid }, { ...goodClaims(), sub: 'alice' }],
      [{ kid }, { ...goodClaims(), sub: 'user:Bad..Name' }],
      [{ kid }, { ...goodClaims(), exp: goodClaims().iat + 86_400 }],
    ]
    for (const [header, claims] of cases) expect(await tokens.verify(await forge(key, header, claims), t0)).toEqual(refused)
    expect(E.isRight(await tokens.verify(await forge(key, { kid }), t0))).toBe(true)
  })

  it('refuses malformed input without throwing', async () => {
    const { tokens } = setup()
    for (const bad of ['', 'abc', 'a.b.c', '..', 'eyJ.eyJ.sig', 'x'.repeat(10_000), undefined, null, 42, {}, ['a.b.c']]) {
      expect(await tokens.verify(bad, t0)).toEqual(refused)
    }
  })

  it('rotation: old tokens verify until the retired key is dropped, new tokens carry the new kid, another process learns it', async () => {
    const store = createInMemorySigningKeyStore()
    const a = setup(store)
    const b = setup(store) // another process on the same store
    const before = (await a.tokens.sign(alice, t0)).token.reveal()
    const oldKid = (await a.keys.current()).active.kid
    const rotated = await rotateSigningKey(a.deps, { retainMs: 20 * 60_000 })()
    expect(E.isRight(rotated) && rotated.right.retired.map((k) => k.kid)).toEqual([oldKid])
    const after = (await a.tokens.sign(alice, t0)).token.reveal()
    const newKid = (await a.keys.current()).active.kid
    expect(newKid).not.toBe(oldKid)
    expect(E.isRight(await b.tokens.verify(after, plus(1000)))).toBe(true)
    expect(E.isRight(await b.tokens.verify(before, plus(1000)))).toBe(true)
    // Rotating again after the retained window drops the first key: its tokens (long expired anyway) are refused.
    a.setNow(plus(21 * 60_000))
    expect(E.isRight(await rotateSigningKey(a.deps, { retainMs: 20 * 60_000 })())).toBe(true)
    expect(await a.tokens.verify(before, plus(60_000))).toEqual(refused)
    expect(E.isRight(await a.tokens.verify(after, plus(60_000)))).toBe(true)
  })

  it('never a default key: an empty store gets one generated key, shared by processes starting together', async () => {
    const store = createInMemorySigningKeyStore()
    const [a, b] = [setup(store), setup(store)]
    const [ra, rb] = await Promise.all([a.keys.current(), b.keys.current()])
    expect(ra.active.kid).toBe(rb.active.kid)
    expect(ra.active.kid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(E.isRight(await b.tokens.verify((await a.tokens.sign(alice, t0)).token.reveal(), t0))).toBe(true)
  })
})
