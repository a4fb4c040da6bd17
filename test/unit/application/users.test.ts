import * as E from 'fp-ts/lib/Either.js'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createArgon2PasswordHasher } from '../../../src/adapters/crypto/argon2PasswordHasher.js'
import { createHmacApiKeyHasher } from '../../../src/adapters/crypto/hmacApiKeyHasher.js'
import { createEd25519KeyGenerator, createJoseTokens } from '../../../src/adapters/crypto/joseTokens.js'
import { createInMemoryRefreshTokenStore, createInMemorySigningKeyStore, createInMemoryUserStore } from '../../../src/adapters/memory/inMemoryAuthStores.js'
import { createKeyRingSource } from '../../../src/application/auth/keyRing.js'
import type { PasswordHasher } from '../../../src/application/auth/ports.js'
import { refreshSession, revokeRefreshToken, revokeUserSessions } from '../../../src/application/auth/sessions.js'
import { acceptInvite, createUser, deleteUser, inviteUser, listUsers, login, me } from '../../../src/application/auth/users.js'
import type { ApiKeyId } from '../../../src/domain/security/apiKey.js'
import { secret } from '../../../src/domain/security/secret.js'
import type { Username } from '../../../src/domain/security/user.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'

const PEPPER = 'pepper-for-tests-0123456789abcdef-0123456789'
const PASSWORD = 'correct horse battery staple'
const acme = 'acme' as TenantId
const t0 = new Date('2026-12-04T13:00:00.000Z')
const plus = (ms: number) => new Date(t0.getTime() + ms)
const refused = E.left({ _tag: 'Unauthorized', message: 'missing or invalid credentials' })
// Cheap parameters: these tests check behaviour, not cost.
const FAST = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

const fixture = () => {
  let now = t0
  const clock = { now: () => now }
  let verifies = 0
  const argon = createArgon2PasswordHasher(FAST)
  const passwords: PasswordHasher = {
    ...argon,
    verify: (h, p) => {
      verifies++
      return argon.verify(h, p)
    },
  }
  const signingKeys = createInMemorySigningKeyStore()
  const tokens = createJoseTokens({ keys: createKeyRingSource({ store: signingKeys, generator: createEd25519KeyGenerator(), clock }), issuer: 'allsource', audience: 'allsource' })
  const users = createInMemoryUserStore()
  const deps = { users, passwords, tokenHasher: createHmacApiKeyHasher({ pepper: PEPPER }), clock, refreshTokens: createInMemoryRefreshTokenStore(), signer: tokens }
  return { deps, tokens, signingKeys, verifies: () => verifies, setNow: (d: Date) => (now = d) }
}
type Fixture = ReturnType<typeof fixture>

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got ${JSON.stringify(r.left)}`)
  return r.right
}
const leftOf = (r: E.Either<unknown, unknown>): { _tag: string; [k: string]: unknown } => {
  if (E.isRight(r)) throw new Error('expected Left')
  return r.left as never
}
const withAlice = async (f: Fixture, role = 'developer') => right(await createUser(f.deps)(acme, { username: 'Alice', role, password: secret(PASSWORD) }))

describe('users: create, list, delete', () => {
  it('creates a user with a folded username and answers no hash; a name taken in any case is BadRequest', async () => {
    const f = fixture()
    const view = await withAlice(f)
    expect(view).toEqual({ tenant: 'acme', username: 'alice', role: 'developer', createdAt: t0.toISOString(), passwordChangedAt: t0.toISOString(), invitePending: false })
    expect(leftOf(await createUser(f.deps)(acme, { username: 'ALICE', role: 'reader', password: secret(PASSWORD) }))).toMatchObject({ _tag: 'BadRequest', details: { field: 'username' } })
    const stored = right(await f.deps.users.get(acme, 'alice' as Username)())
    expect(stored?.record.passwordHash).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=1\$/)
  })

  it('refuses invalid usernames, roles (operator included) and passwords against the policy, naming the rule, never the password', async () => {
    const f = fixture()
    for (const username of ['', 'a b', 'a..b', '.a', 'a.', 'x'.repeat(65), 'a*b', 'ä', 42]) {
      expect(leftOf(await createUser(f.deps)(acme, { username, role: 'reader', password: secret(PASSWORD) }))).toMatchObject({ _tag: 'ValidationFailed', failures: [{ path: 'username' }] })
    }
    for (const role of ['operator', 'root', undefined]) {
      expect(leftOf(await createUser(f.deps)(acme, { username: 'bob', role, password: secret(PASSWORD) }))).toMatchObject({ _tag: 'ValidationFailed', failures: [{ path: 'role' }] })
    }
    const bad: [string, RegExp][] = [
      ['short-pass1', /at least 12 characters/],
      ['é'.repeat(513), /at most 1024 bytes/],
      ['bob.the.builder'.toUpperCase(), /not be the username/],
    ]
    for (const [password, rule] of bad) {
      const e = leftOf(await createUser(f.deps)(acme, { username: 'bob.the.builder', role: 'reader', password: secret(password) }))
      expect(e).toMatchObject({ _tag: 'ValidationFailed', failures: [{ path: 'password', message: expect.stringMatching(rule) }] })
      expect(JSON.stringify(e)).not.toContain(password)
    }
    // Twelve code points, not twelve UTF-16 units or bytes; 1024 bytes exactly is fine.
    expect(E.isRight(await createUser(f.deps)(acme, { username: 'emoji', role: 'reader', password: secret('🔑'.repeat(12)) }))).toBe(true)
    expect(E.isRight(await createUser(f.deps)(acme, { username: 'long', role: 'reader', password: secret('x'.repeat(1024)) }))).toBe(true)
  })

  it('lists users sorted, without hashes, deleted ones only when asked; delete is soft, idempotent and never frees the name', async () => {
    const f = fixture()
    for (const u of ['zoe', 'Bob', 'alice']) right(await createUser(f.deps)(acme, { username: u, role: 'reader', password: secret(PASSWORD) }))
    right(await createUser(f.deps)('globex' as TenantId, { username: 'eve', role: 'reader', password: secret(PASSWORD) }))
    expect(right(await listUsers(f.deps)(acme)).map((u) => u.username)).toEqual(['alice', 'bob', 'zoe'])
    f.setNow(plus(1000))
    const deleted = right(await deleteUser(f.deps)(acme, 'BOB'))
    expect(deleted.deletedAt).toBe(plus(1000).toISOString())
    f.setNow(plus(2000))
    expect(right(await deleteUser(f.deps)(acme, 'bob')).deletedAt).toBe(plus(1000).toISOString())
    expect(right(await listUsers(f.deps)(acme)).map((u) => u.username)).toEqual(['alice', 'zoe'])
    expect(right(await listUsers(f.deps)(acme, { includeDeleted: true })).map((u) => u.username)).toEqual(['alice', 'bob', 'zoe'])
    expect(right(await f.deps.users.get(acme, 'bob' as Username)())?.record.passwordHash).toBeUndefined()
    expect(leftOf(await deleteUser(f.deps)(acme, 'nobody'))._tag).toBe('NotFound')
    expect(leftOf(await deleteUser(f.deps)('globex' as TenantId, 'alice'))._tag).toBe('NotFound')
    expect(leftOf(await createUser(f.deps)(acme, { username: 'bob', role: 'reader', password: secret(PASSWORD) }))._tag).toBe('BadRequest')
    for (const v of right(await listUsers(f.deps)(acme, { includeDeleted: true }))) expect(v).not.toHaveProperty('passwordHash')
  })
})

describe('login', () => {
  it('answers an access token for the user and a refresh token; the access token verifies as the user', async () => {
    const f = fixture()
    await withAlice(f)
    const issued = right(await login(f.deps)('acme', 'ALICE', PASSWORD))
    expect(issued.refreshToken.reveal()).toMatch(/^asr_[0-9A-Za-z]{12}_[0-9A-Za-z]{43}$/)
    expect(issued.expiresAt).toBe(plus(15 * 60_000).toISOString())
    expect(issued.refreshExpiresAt).toBe(plus(30 * 86_400_000).toISOString())
    const id = right(await f.tokens.verify(issued.accessToken.reveal(), t0))
    expect(id).toMatchObject({ tenant: 'acme', role: 'developer', subject: { kind: 'user', username: 'alice' } })
    expect(right(await me(f.deps)(id)).user?.username).toBe('alice')
  })

  it('every refusal is the same Unauthorized and runs exactly one password verification', async () => {
    const f = fixture()
    await withAlice(f)
    right(await inviteUser(f.deps)(acme, { username: 'invited', role: 'reader' }))
    right(await createUser(f.deps)(acme, { username: 'gone', role: 'reader', password: secret(PASSWORD) }))
    right(await deleteUser(f.deps)(acme, 'gone'))
    const attempts: [unknown, unknown, unknown][] = [
      ['acme', 'alice', 'wrong password here'],
      ['acme', 'nobody', PASSWORD],
      ['acme', 'invited', PASSWORD],
      ['acme', 'invited', ''],
      ['acme', 'gone', PASSWORD],
      ['globex', 'alice', PASSWORD],
      ['bad tenant', 'alice', PASSWORD],
      ['acme', 'bad name!', PASSWORD],
      ['acme', 'alice', 'x'.repeat(1025)],
      ['acme', 'alice', undefined],
      [undefined, undefined, { password: PASSWORD }],
    ]
    for (const [t, u, p] of attempts) {
      const before = f.verifies()
      expect(await login(f.deps)(t, u, p)).toEqual(refused)
      expect(f.verifies() - before).toBe(1)
    }
  })

  it('replaces a hash made with older parameters at the next successful login', async () => {
    const f = fixture()
    await withAlice(f)
    const stronger = createArgon2PasswordHasher({ ...FAST, timeCost: 2 })
    right(await login({ ...f.deps, passwords: stronger })('acme', 'alice', PASSWORD))
    expect(right(await f.deps.users.get(acme, 'alice' as Username)())?.record.passwordHash).toMatch(/t=2\$/)
    expect(E.isRight(await login(f.deps)('acme', 'alice', PASSWORD))).toBe(true)
  })
})

describe('invitations', () => {
  it('an invited user sets a password once with the token, then logs in', async () => {
    const f = fixture()
    const inv = right(await inviteUser(f.deps)(acme, { username: 'Newbie', role: 'reader' }))
    expect(inv.user).toMatchObject({ username: 'newbie', invitePending: true })
    expect(inv.expiresAt).toBe(plus(7 * 86_400_000).toISOString())
    const token = inv.inviteToken.reveal()
    expect(token).toMatch(/^asi_[0-9A-Za-z]{12}_[0-9A-Za-z]{43}$/)
    expect(leftOf(await acceptInvite(f.deps)('acme', 'newbie', token, secret('short')))._tag).toBe('ValidationFailed')
    expect(await acceptInvite(f.deps)('acme', 'someone', token, secret(PASSWORD))).toEqual(refused)
    const accepted = right(await acceptInvite(f.deps)('acme', 'NEWBIE', token, secret(PASSWORD)))
    expect(accepted).toMatchObject({ username: 'newbie', invitePending: false })
    expect(await acceptInvite(f.deps)('acme', 'newbie', token, secret('another long password'))).toEqual(refused)
    expect(E.isRight(await login(f.deps)('acme', 'newbie', PASSWORD))).toBe(true)
  })

  it('refuses a wrong, malformed or expired token with the same Unauthorized; a taken name cannot be invited', async () => {
    const f = fixture()
    const inv = right(await inviteUser(f.deps)(acme, { username: 'late', role: 'reader', ttlMs: 60_000 }))
    const other = right(await inviteUser(f.deps)(acme, { username: 'other', role: 'reader' })).inviteToken.reveal()
    for (const bad of [other, 'asi_x', '', undefined, inv.inviteToken.reveal().replace('asi_', 'asr_')]) {
      expect(await acceptInvite(f.deps)('acme', 'late', bad, secret(PASSWORD))).toEqual(refused)
    }
    f.setNow(plus(60_000))
    expect(await acceptInvite(f.deps)('acme', 'late', inv.inviteToken.reveal(), secret(PASSWORD))).toEqual(refused)
    expect(leftOf(await inviteUser(f.deps)(acme, { username: 'LATE', role: 'reader' }))._tag).toBe('BadRequest')
    expect(leftOf(await inviteUser(f.deps)(acme, { username: 'x', role: 'reader', ttlMs: -1 }))._tag).toBe('BadRequest')
  })
})

describe('refresh tokens', () => {
  it('rotate on every use; the new pair works, the role comes from the record now', async () => {
    const f = fixture()
    await withAlice(f)
    const first = right(await login(f.deps)('acme', 'alice', PASSWORD))
    const stored = right(await f.deps.users.get(acme, 'alice' as Username)())
    right(await f.deps.users.update({ ...stored!.record, role: 'admin' }, stored!.revision)())
    f.setNow(plus(60_000))
    const second = right(await refreshSession(f.deps)(first.refreshToken.reveal()))
    expect(second.refreshToken.reveal()).not.toBe(first.refreshToken.reveal())
    expect(right(await f.tokens.verify(second.accessToken.reveal(), plus(60_000))).role).toBe('admin')
    expect(E.isRight(await refreshSession(f.deps)(second.refreshToken.reveal()))).toBe(true)
  })

  it('reusing a spent token revokes the whole family; other sessions are untouched', async () => {
    const f = fixture()
    await withAlice(f)
    const a1 = right(await login(f.deps)('acme', 'alice', PASSWORD))
    const b1 = right(await login(f.deps)('acme', 'alice', PASSWORD))
    const a2 = right(await refreshSession(f.deps)(a1.refreshToken.reveal()))
    expect(await refreshSession(f.deps)(a1.refreshToken.reveal())).toEqual(refused)
    expect(await refreshSession(f.deps)(a2.refreshToken.reveal())).toEqual(refused)
    expect(E.isRight(await refreshSession(f.deps)(b1.refreshToken.reveal()))).toBe(true)
  })

  it('of concurrent exchanges of one token exactly one succeeds, and the race counts as reuse', async () => {
    const f = fixture()
    await withAlice(f)
    const t = right(await login(f.deps)('acme', 'alice', PASSWORD)).refreshToken.reveal()
    const results = await Promise.all([refreshSession(f.deps)(t), refreshSession(f.deps)(t), refreshSession(f.deps)(t)])
    const won = results.filter(E.isRight)
    expect(won).toHaveLength(1)
    expect(await refreshSession(f.deps)(won[0]!.right.refreshToken.reveal())).toEqual(refused)
  })

  it('a guessed secret for a real tokenId is refused without ending the session', async () => {
    const f = fixture()
    await withAlice(f)
    const t = right(await login(f.deps)('acme', 'alice', PASSWORD)).refreshToken.reveal()
    const forged = `${t.slice(0, 17)}${'x'.repeat(43)}`
    expect(await refreshSession(f.deps)(forged)).toEqual(refused)
    expect(await revokeRefreshToken(f.deps)(forged)).toEqual(E.right(undefined))
    expect(E.isRight(await refreshSession(f.deps)(t))).toBe(true)
  })

  it('expire after 30 days; logout revokes the session; revoking a user or deleting it revokes every session', async () => {
    const f = fixture()
    await withAlice(f)
    const old = right(await login(f.deps)('acme', 'alice', PASSWORD)).refreshToken.reveal()
    f.setNow(plus(30 * 86_400_000))
    expect(await refreshSession(f.deps)(old)).toEqual(refused)
    const s1 = right(await login(f.deps)('acme', 'alice', PASSWORD))
    const s2 = right(await refreshSession(f.deps)(s1.refreshToken.reveal()))
    expect(await revokeRefreshToken(f.deps)(s1.refreshToken.reveal())).toEqual(E.right(undefined))
    expect(await refreshSession(f.deps)(s2.refreshToken.reveal())).toEqual(refused)
    const s3 = right(await login(f.deps)('acme', 'alice', PASSWORD)).refreshToken.reveal()
    right(await revokeUserSessions(f.deps)(acme, 'alice' as Username))
    expect(await refreshSession(f.deps)(s3)).toEqual(refused)
    f.setNow(plus(30 * 86_400_000 + 1))
    const s4 = right(await login(f.deps)('acme', 'alice', PASSWORD))
    expect(E.isRight(await refreshSession(f.deps)(s4.refreshToken.reveal()))).toBe(true)
    const s5 = right(await login(f.deps)('acme', 'alice', PASSWORD))
    const id = right(await f.tokens.verify(s5.accessToken.reveal(), plus(30 * 86_400_000 + 1)))
    right(await deleteUser(f.deps)(acme, 'alice'))
    expect(await refreshSession(f.deps)(s5.refreshToken.reveal())).toEqual(refused)
    expect(await me(f.deps)(id)).toEqual(refused)
  })

  it('refuses garbage and unknown tokens the same way, running the keyed hash for an unknown id', async () => {
    const f = fixture()
    for (const bad of ['', 'asr_', `asr_${'A'.repeat(12)}_${'b'.repeat(43)}`, undefined, 7, {}]) expect(await refreshSession(f.deps)(bad)).toEqual(refused)
    expect(await me(f.deps)({ tenant: acme, role: 'service', subject: { kind: 'key', keyId: 'AAAAAAAAAAAA' as ApiKeyId }, jti: 'j'.repeat(22), expiresAt: t0.toISOString() as never })).toEqual(
      E.right({ tenant: acme, role: 'service', subject: { kind: 'key', keyId: 'AAAAAAAAAAAA' } }),
    )
  })
})

describe('nothing secret is ever serialised', () => {
  it('no password, hash, token, token secret, pepper or private key in any returned object or error', async () => {
    const f = fixture()
    const created = await createUser(f.deps)(acme, { username: 'alice', role: 'admin', password: secret(PASSWORD) })
    const policyError = await createUser(f.deps)(acme, { username: 'bob', role: 'admin', password: secret('tiny-secret') })
    const invited = await inviteUser(f.deps)(acme, { username: 'carol', role: 'reader' })
    const inviteToken = right(invited).inviteToken.reveal()
    const accepted = await acceptInvite(f.deps)('acme', 'carol', inviteToken, secret(`${PASSWORD}!`))
    const issued = await login(f.deps)('acme', 'alice', PASSWORD)
    const wrong = await login(f.deps)('acme', 'alice', `${PASSWORD}?`)
    const { accessToken, refreshToken } = right(issued)
    const identity = await f.tokens.verify(accessToken.reveal(), t0)
    const refreshed = await refreshSession(f.deps)(refreshToken.reveal())
    const reused = await refreshSession(f.deps)(refreshToken.reveal())
    const stored = right(await f.deps.users.get(acme, 'alice' as Username)())
    const ring = right(await f.signingKeys.load()())
    const secrets = [
      PASSWORD,
      'tiny-secret',
      PEPPER,
      inviteToken,
      inviteToken.slice(17),
      accessToken.reveal(),
      accessToken.reveal().split('.')[2] as string,
      refreshToken.reveal(),
      refreshToken.reveal().slice(17),
      right(refreshed).refreshToken.reveal().slice(17),
      right(refreshed).accessToken.reveal(),
      stored!.record.passwordHash as string,
      ring!.record.active.privateKey.reveal(),
    ]
    const everything = [
      created,
      policyError,
      invited,
      accepted,
      issued,
      wrong,
      identity,
      refreshed,
      reused,
      await listUsers(f.deps)(acme, { includeDeleted: true }),
      await me(f.deps)(right(identity)),
      await deleteUser(f.deps)(acme, 'carol'),
      ring,
      f.deps.passwords,
      f.deps.tokenHasher,
      f.tokens,
    ]
    const dumps = everything.flatMap((v) => [JSON.stringify(v), String(v), inspect(v, { depth: 20, showHidden: true, getters: true })])
    for (const d of dumps) for (const s of secrets) expect(d).not.toContain(s)
  })
})
