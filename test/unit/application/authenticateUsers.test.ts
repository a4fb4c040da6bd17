/**
 * `authenticate` for users and access tokens (in memory), the principal mapping, the connect
 * option helpers, and `requestTokens` (the use case behind `allsource.auth.token`).
 */
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createArgon2PasswordHasher } from '../../../src/adapters/crypto/argon2PasswordHasher.js'
import { createHmacApiKeyHasher } from '../../../src/adapters/crypto/hmacApiKeyHasher.js'
import { createEd25519KeyGenerator, createJoseTokens } from '../../../src/adapters/crypto/joseTokens.js'
import { createInMemoryApiKeyStore } from '../../../src/adapters/memory/inMemoryApiKeyStore.js'
import { createInMemoryRefreshTokenStore, createInMemorySigningKeyStore, createInMemoryUserStore } from '../../../src/adapters/memory/inMemoryAuthStores.js'
import { createInMemoryTenantStore } from '../../../src/adapters/memory/inMemoryTenantStore.js'
import { inboxPrincipal } from '../../../src/adapters/nats/admin/userEndpoints.js'
import { tokenConnectOptions, userConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { createKey, revokeKey } from '../../../src/application/auth/apiKeys.js'
import { authenticate, passwordCredential } from '../../../src/application/auth/authenticate.js'
import { createKeyRingSource } from '../../../src/application/auth/keyRing.js'
import { requestTokens } from '../../../src/application/auth/tokenRequest.js'
import { acceptInvite, createUser, deleteUser, inviteUser } from '../../../src/application/auth/users.js'
import { createLoginThrottle } from '../../../src/application/auth/loginThrottle.js'
import { ApiKeyId } from '../../../src/domain/security/apiKey.js'
import { OPERATOR_PRINCIPAL, parsePrincipal, userPrincipal } from '../../../src/domain/security/principal.js'
import { secret } from '../../../src/domain/security/secret.js'
import { Username } from '../../../src/domain/security/user.js'
import { validateTokenRequest, validateUserCommand } from '../../../src/domain/security/userRequests.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, suspend } from '../../../src/domain/tenants/tenant.js'

const acme = 'acme' as TenantId
const globex = 'globex' as TenantId
const t0 = new Date('2026-12-04T13:00:00.000Z')
const PASSWORD = 'correct horse battery staple'
const refused = E.left({ _tag: 'Unauthorized', message: 'missing or invalid credentials' })
const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got ${JSON.stringify(r.left)}`)
  return r.right
}

const fixture = async () => {
  const clock = { now: () => t0 }
  const hasher = createHmacApiKeyHasher({ pepper: 'pepper-for-tests-0123456789abcdef-0123456789' })
  const store = createInMemoryApiKeyStore()
  const tenants = createInMemoryTenantStore()
  for (const t of [acme, globex]) right(await tenants.create(newTenant(t, t0.toISOString() as IsoTimestamp))())
  const users = createInMemoryUserStore()
  const refreshTokens = createInMemoryRefreshTokenStore()
  const passwords = createArgon2PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 })
  const tokens = createJoseTokens({ keys: createKeyRingSource({ store: createInMemorySigningKeyStore(), generator: createEd25519KeyGenerator(), clock }), issuer: 'allsource', audience: 'allsource' })
  const auth = authenticate({ store, hasher, clock, tenants, userAuth: { users, passwords, verifier: tokens } })
  const userDeps = { users, passwords, tokenHasher: hasher, clock, refreshTokens, signer: tokens }
  right(await createUser(userDeps)(acme, { username: 'ann.lee', role: 'developer', password: secret(PASSWORD) }))
  right(await createUser(userDeps)(globex, { username: 'gus', role: 'reader', password: secret(PASSWORD) }))
  const tokenDeps = { ...userDeps, tenants, keys: store }
  return { auth, tokens, tenants, userDeps, tokenDeps, keyDeps: { store, hasher, clock } }
}

describe('principals', () => {
  it('a user principal is one subject token without ":", never a keyId or _op, and reads back', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9](?:[a-z0-9._-]{0,20}[a-z0-9])?$/), (name) => {
        fc.pre(Username.is(name))
        const p = userPrincipal(name as Username)
        expect(p).toMatch(/^u_[a-z0-9~_-]+$/)
        expect(ApiKeyId.is(p)).toBe(false)
        expect(p).not.toBe(OPERATOR_PRINCIPAL)
        expect(parsePrincipal(p)).toEqual({ kind: 'user', username: name })
      }),
    )
    expect(parsePrincipal('AAAAAAAAAAAA')).toEqual({ kind: 'key', keyId: 'AAAAAAAAAAAA' })
    expect(parsePrincipal('_op')).toEqual({ kind: 'operator' })
    for (const bad of ['', 'u_', 'u_a.b', 'u_~a', 'x', 'u_A', 42]) expect(parsePrincipal(bad)).toBeUndefined()
  })

  it('inboxPrincipal reads only _INBOX.<tenant>.<principal>.<…>', () => {
    expect(inboxPrincipal('_INBOX.acme.u_ann~lee.abc')).toEqual({ tenant: 'acme', principal: 'u_ann~lee' })
    expect(inboxPrincipal('_INBOX.acme.AAAAAAAAAAAA.x.y')).toEqual({ tenant: 'acme', principal: 'AAAAAAAAAAAA' })
    for (const bad of [undefined, '', '_INBOX.acme.u_ann', '_INBOX.acme', 'x.acme.u_a.b', '_INBOX.a$b.u_a.b', '_INBOX.acme.nope.b']) expect(inboxPrincipal(bad)).toBeUndefined()
  })

  it('connect option helpers fold the username and name the principal\'s inbox', () => {
    expect(userConnectOptions('acme', 'Ann.Lee', 'pw')).toEqual({ user: 'acme/ann.lee', pass: 'pw', inboxPrefix: '_INBOX.acme.u_ann~lee' })
    expect(() => userConnectOptions('acme', 'a b', 'secret-pw')).toThrow(/^(?!.*secret-pw)/)
    expect(() => tokenConnectOptions('acme', 'not-a-jwt')).toThrow(/not an AllSource access token/)
  })
})

describe('authenticate: users and access tokens', () => {
  it('a password credential is the user; every bad one is the same UNAUTHORIZED', async () => {
    const f = await fixture()
    expect(await f.auth(passwordCredential('acme/Ann.Lee', PASSWORD), t0)).toEqual(E.right({ identity: { tenant: 'acme', role: 'developer' }, principal: 'u_ann~lee' }))
    for (const [user, pass] of [['acme/ann.lee', 'wrong wrong wrong'], ['globex/ann.lee', PASSWORD], ['acme/nobody', PASSWORD], ['acme', PASSWORD], ['/ann.lee', PASSWORD], [42, PASSWORD], ['acme/ann.lee', undefined]] as const) {
      expect(await f.auth(passwordCredential(user, pass), t0)).toEqual(refused)
    }
  })

  it('an access token is its identity while its user exists and its tenant is admitted', async () => {
    const f = await fixture()
    const token = (await f.tokens.sign({ tenant: acme, role: 'developer', subject: { kind: 'user', username: 'ann.lee' as Username } }, t0)).token.reveal()
    expect(await f.auth(token, t0)).toEqual(E.right({ identity: { tenant: 'acme', role: 'developer' }, principal: 'u_ann~lee' }))
    expect(await f.auth(token, new Date(t0.getTime() + 3_600_000))).toEqual(refused)
    // One signature character changed, well inside the signature: its last characters carry padding
    // bits a decoder ignores, so overwriting them with "AAA" left the token valid once in ~16,000 runs.
    const at = token.length - 10
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`
    expect(await f.auth(tampered, t0)).toEqual(refused)
    const ghost = (await f.tokens.sign({ tenant: acme, role: 'admin', subject: { kind: 'user', username: 'ghost' as Username } }, t0)).token.reveal()
    expect(await f.auth(ghost, t0)).toEqual(refused)
    right(await deleteUser(f.userDeps)(acme, 'ann.lee'))
    expect(await f.auth(token, t0)).toEqual(refused)
  })

  it('a key-subject token needs the key alive and of its tenant', async () => {
    const f = await fixture()
    const k = right(await createKey(f.keyDeps)(acme, { role: 'reader' }))
    const token = (await f.tokens.sign({ tenant: acme, role: 'reader', subject: { kind: 'key', keyId: k.keyId } }, t0)).token.reveal()
    const foreign = (await f.tokens.sign({ tenant: globex, role: 'reader', subject: { kind: 'key', keyId: k.keyId } }, t0)).token.reveal()
    expect(await f.auth(token, t0)).toEqual(E.right({ identity: { tenant: 'acme', role: 'reader' }, principal: k.keyId }))
    expect(await f.auth(foreign, t0)).toEqual(refused)
    right(await revokeKey(f.keyDeps)(acme, k.keyId))
    expect(await f.auth(token, t0)).toEqual(refused)
  })

  it('a suspended tenant refuses its users', async () => {
    const f = await fixture()
    const stored = right(await f.tenants.get(globex)())!
    right(await f.tenants.update(right(suspend(stored.record)), stored.revision)())
    expect(await f.auth(passwordCredential('globex/gus', PASSWORD), t0)).toEqual(E.left({ _tag: 'TenantSuspended', tenant: 'globex' }))
  })

  it('without userAuth, passwords and tokens are refused', async () => {
    const f = await fixture()
    const bare = authenticate({ ...f.keyDeps, tenants: f.tenants })
    expect(await bare(passwordCredential('acme/ann.lee', PASSWORD), t0)).toEqual(refused)
    expect(await bare('eyJhbGciOiJFZERTQSJ9.e30.x', t0)).toEqual(refused)
  })
})

describe('requestTokens', () => {
  it('a session for a user principal, rotation bound to that user, FORBIDDEN for the operator', async () => {
    const f = await fixture()
    const run = requestTokens(f.tokenDeps)
    const s = right(await run(acme, 'u_ann~lee', { _tag: 'New' }))
    expect(s.refreshToken?.reveal()).toMatch(/^asr_/)
    expect(E.isLeft(await run(globex, 'u_gus', { _tag: 'Refresh', refreshToken: s.refreshToken! }))).toBe(true)
    expect(E.isRight(await run(acme, 'u_ann~lee', { _tag: 'Refresh', refreshToken: s.refreshToken! }))).toBe(true)
    expect(await run(acme, '_op', { _tag: 'New' })).toMatchObject(E.left({ _tag: 'Forbidden' }))
    expect(await run(acme, 'u_nobody', { _tag: 'New' })).toEqual(refused)
    expect(await run(acme, 'garbage!', { _tag: 'New' })).toEqual(refused)
    expect(await run(globex, 'u_ann~lee', { _tag: 'New' })).toEqual(refused)
  })

  it('bodies: {} or nothing is New, { refreshToken } Refresh, anything else BAD_REQUEST', () => {
    expect(validateTokenRequest(undefined)).toEqual(E.right({ _tag: 'New' }))
    expect(validateTokenRequest({})).toEqual(E.right({ _tag: 'New' }))
    expect(E.isRight(validateTokenRequest({ refreshToken: 'x' }))).toBe(true)
    for (const bad of [{ refreshToken: 1 }, { x: 1 }, [], 'x', null]) expect(validateTokenRequest(bad)).toMatchObject(E.left({ _tag: 'BadRequest' }))
    expect(validateUserCommand('create', { username: 'a', role: 'reader' })).toMatchObject(E.left({ _tag: 'BadRequest' }))
    const c = validateUserCommand('create', { username: 'a', role: 'reader', password: 'hunter2hunter2' })
    expect(JSON.stringify(c)).not.toContain('hunter2')
  })
})

describe('authenticate: invitations and the login throttle', () => {
  it('an invitation token as the password gives the user with scope invitation; a wrong or spent one is refused; a password shaped like one still works', async () => {
    const { auth, userDeps } = await fixture()
    const invited = right(await inviteUser(userDeps)(acme, { username: 'newbie', role: 'admin' }))
    const token = invited.inviteToken.reveal()
    expect(right(await auth(passwordCredential('acme/newbie', token), t0))).toEqual({ identity: { tenant: 'acme', role: 'admin' }, principal: 'u_newbie', scope: 'invitation' })
    expect(await auth(passwordCredential('globex/newbie', token), t0)).toEqual(refused)
    expect(await auth(passwordCredential('acme/ann.lee', token), t0)).toEqual(refused)
    right(await acceptInvite(userDeps)(acme, 'newbie', token, secret(PASSWORD)))
    expect(await auth(passwordCredential('acme/newbie', token), t0)).toEqual(refused) // spent
    expect(right(await auth(passwordCredential('acme/newbie', PASSWORD), t0)).scope).toBeUndefined()
  })

  it('with a throttle, failed passwords are counted and an over-budget username is refused QUOTA_EXCEEDED before any password work', async () => {
    const { tenants, userDeps, keyDeps } = await fixture()
    let verifications = 0
    const passwords = { ...userDeps.passwords, verify: async (h: Parameters<typeof userDeps.passwords.verify>[0], p: Parameters<typeof userDeps.passwords.verify>[1]) => (verifications++, userDeps.passwords.verify(h, p)) }
    const throttle = createLoginThrottle({ now: () => t0 }, { userFailureBurst: 2 })
    const auth = authenticate({ ...keyDeps, tenants, userAuth: { users: userDeps.users, passwords, verifier: userDeps.signer as never }, loginThrottle: throttle })
    expect(await auth(passwordCredential('acme/ann.lee', 'wrong password one'), t0)).toEqual(refused)
    expect(await auth(passwordCredential('acme/ANN.lee', 'wrong password two'), t0)).toEqual(refused)
    const before = verifications
    const throttled = await auth(passwordCredential('acme/ann.lee', PASSWORD), t0)
    expect(E.isLeft(throttled) && throttled.left).toMatchObject({ _tag: 'QuotaExceeded', quota: 'loginFailures' })
    expect(verifications).toBe(before)
    expect(E.isRight(await auth(passwordCredential('globex/gus', PASSWORD), t0))).toBe(true)
  })
})
