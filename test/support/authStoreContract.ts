import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { RefreshTokenStore, SigningKeyStore, UserStore } from '../../src/application/auth/ports.js'
import type { ApiKeyId, KeyHash } from '../../src/domain/security/apiKey.js'
import { secret } from '../../src/domain/security/secret.js'
import { type SigningKey, newKeyRing, rotateKeyRing } from '../../src/domain/security/signingKeys.js'
import type { RefreshTokenRecord } from '../../src/domain/security/token.js'
import type { UserRecord, Username } from '../../src/domain/security/user.js'
import type { TenantId } from '../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../src/domain/tenants/tenant.js'

/** Fresh, empty stores (their own buckets), and a way to write raw bytes under a user key behind the store's back. */
export interface OpenedAuthStores {
  readonly users: UserStore
  readonly refreshTokens: RefreshTokenStore
  readonly signingKeys: SigningKeyStore
  putRawUser(key: string, bytes: Uint8Array): Promise<void>
}

const at = (s = 0) => new Date(Date.UTC(2026, 11, 4, 13, 0, s)).toISOString() as IsoTimestamp
const acme = 'acme' as TenantId
const HASH = '$argon2id$v=19$m=19456,p=1,t=2$MhL+/FNvlCw6EJccZULqHw$7mHx0mcEI+CsgyHHXjhn8xXEOb5nKz6BZUmyDNVZFSQ' as UserRecord['passwordHash']
const user = (username: string, tenant: TenantId = acme): UserRecord => ({ tenant, username: username as Username, role: 'reader', createdAt: at(), passwordHash: HASH })
const tokenRecord = (tokenId: string, familyId = tokenId): RefreshTokenRecord => ({
  tokenId: tokenId as ApiKeyId,
  familyId: familyId as ApiKeyId,
  tenant: acme,
  username: 'alice' as Username,
  familyCreatedAt: at(),
  createdAt: at(),
  expiresAt: at(59),
  hash: 'B'.repeat(43) as KeyHash,
})
const key = (n: number): SigningKey => ({
  kid: `kid-${n}`,
  createdAt: at(n),
  publicJwk: { kty: 'OKP', crv: 'Ed25519', x: String(n).repeat(43).slice(0, 43) },
  privateKey: secret(`d${n}`.repeat(43).slice(0, 43)),
})

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected a value, got ${JSON.stringify(r.left)}`)
  return r.right
}
const leftTag = (r: E.Either<{ _tag: string }, unknown>): string => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`)
  return r.left._tag
}

/** The contract of {@link UserStore}, {@link RefreshTokenStore} and {@link SigningKeyStore}; `open` gives fresh stores. */
export const authStoreContract = (name: string, open: () => Promise<OpenedAuthStores>): void => {
  describe(`auth stores contract: ${name}`, () => {
    it('users: a name never created is undefined; create stores once; a second create is RecordExists and changes nothing', async () => {
      const { users } = await open()
      expect(right(await users.get(acme, 'alice' as Username)())).toBeUndefined()
      const created = right(await users.create(user('alice'))())
      expect(created.revision).toBeGreaterThan(0)
      expect(right(await users.get(acme, 'alice' as Username)())).toEqual(created)
      expect(leftTag(await users.create({ ...user('alice'), role: 'admin' })())).toBe('RecordExists')
      expect(right(await users.get(acme, 'alice' as Username)())).toEqual(created)
      // Same name in another tenant is another user.
      right(await users.create(user('alice', 'globex' as TenantId))())
    })

    it('users: of concurrent creates of one name exactly one wins', async () => {
      const { users } = await open()
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => users.create({ ...user('bob'), role: i % 2 === 0 ? 'admin' : 'reader' })()))
      expect(results.filter(E.isRight)).toHaveLength(1)
      expect(results.filter(E.isLeft).map((r) => r.left._tag)).toEqual(Array(7).fill('RecordExists'))
      const winner = results.find(E.isRight)
      expect(right(await users.get(acme, 'bob' as Username)())).toEqual(winner?.right)
    })

    it('users: update is compare-and-set; of two writers from one revision exactly one wins', async () => {
      const { users } = await open()
      const first = right(await users.create(user('carol'))())
      const second = right(await users.update({ ...first.record, role: 'developer' }, first.revision)())
      expect(second.revision).toBeGreaterThan(first.revision)
      expect(leftTag(await users.update(first.record, first.revision)())).toBe('RevisionConflict')
      expect(leftTag(await users.update(user('nobody'), 1)())).toBe('RevisionConflict')
      expect(leftTag(await users.update(first.record, 0)())).toBe('RevisionConflict')
      const race = await Promise.all([
        users.update({ ...second.record, role: 'admin' }, second.revision)(),
        users.update({ ...second.record, role: 'service' }, second.revision)(),
      ])
      expect(race.filter(E.isRight)).toHaveLength(1)
      expect(right(await users.get(acme, 'carol' as Username)())).toEqual(race.find(E.isRight)?.right)
    })

    it("users: list answers one tenant's users sorted by name, dotted names included; corrupt records are reported, not fatal", async () => {
      const { users, putRawUser } = await open()
      for (const n of ['zed', 'a.b.c', 'mallory', 'a-b']) right(await users.create(user(n))())
      right(await users.create(user('other', 'acme2' as TenantId))())
      await putRawUser('acme.broken', new TextEncoder().encode('{"tenant":'))
      await putRawUser('acme.wrongkey', new TextEncoder().encode(JSON.stringify(user('someone'))))
      const listed = right(await users.list(acme)())
      expect(listed.users.map((u) => u.record.username)).toEqual(['a-b', 'a.b.c', 'mallory', 'zed'])
      expect(listed.corrupt.map((c) => c.key)).toEqual(['acme.broken', 'acme.wrongkey'])
      expect(leftTag(await users.get(acme, 'broken' as Username)())).toBe('CorruptRecord')
      expect(right(await users.list('nobody' as TenantId)())).toEqual({ users: [], corrupt: [] })
    })

    it('refresh tokens: create once, get with no marks, update is compare-and-set', async () => {
      const { refreshTokens } = await open()
      expect(right(await refreshTokens.get('AAAAAAAAAAAA' as ApiKeyId)())).toBeUndefined()
      const created = right(await refreshTokens.create(tokenRecord('tok000000001'))())
      expect(leftTag(await refreshTokens.create(tokenRecord('tok000000001'))())).toBe('RecordExists')
      expect(right(await refreshTokens.get('tok000000001' as ApiKeyId)())).toEqual({ record: created.record, revision: created.revision })
      const spent = { ...created.record, rotatedAt: at(5) }
      const race = await Promise.all([refreshTokens.update(spent, created.revision)(), refreshTokens.update(spent, created.revision)()])
      expect(race.filter(E.isRight)).toHaveLength(1)
      expect(right(await refreshTokens.get('tok000000001' as ApiKeyId)())?.record.rotatedAt).toBe(at(5))
    })

    it('refresh tokens: a family mark keeps its first instant; a user mark keeps the latest; both show on get', async () => {
      const { refreshTokens } = await open()
      right(await refreshTokens.create(tokenRecord('tok000000001', 'fam000000001'))())
      right(await refreshTokens.create(tokenRecord('tok000000002', 'fam000000001'))())
      right(await refreshTokens.create(tokenRecord('tok000000003', 'fam000000002'))())
      right(await refreshTokens.revokeFamily('fam000000001' as ApiKeyId, at(10))())
      right(await refreshTokens.revokeFamily('fam000000001' as ApiKeyId, at(20))())
      expect(right(await refreshTokens.get('tok000000002' as ApiKeyId)())?.familyRevokedAt).toBe(at(10))
      expect(right(await refreshTokens.get('tok000000003' as ApiKeyId)())?.familyRevokedAt).toBeUndefined()
      right(await refreshTokens.revokeUser(acme, 'alice' as Username, at(30))())
      right(await refreshTokens.revokeUser(acme, 'alice' as Username, at(15))())
      await Promise.all([refreshTokens.revokeUser(acme, 'alice' as Username, at(40))(), refreshTokens.revokeUser(acme, 'alice' as Username, at(35))()])
      expect(right(await refreshTokens.get('tok000000003' as ApiKeyId)())?.userRevokedAt).toBe(at(40))
    })

    it('signing keys: none at first; create once; update is compare-and-set; private keys round-trip', async () => {
      const { signingKeys } = await open()
      expect(right(await signingKeys.load()())).toBeUndefined()
      const first = right(await signingKeys.create(newKeyRing(key(1)))())
      expect(leftTag(await signingKeys.create(newKeyRing(key(2)))())).toBe('RecordExists')
      const rotated = rotateKeyRing(first.record, key(3), new Date(Date.parse(at(3))), 60_000)
      const second = right(await signingKeys.update(rotated, first.revision)())
      expect(leftTag(await signingKeys.update(rotateKeyRing(first.record, key(4), new Date(), 1), first.revision)())).toBe('RevisionConflict')
      const loaded = right(await signingKeys.load()())
      expect(loaded?.revision).toBe(second.revision)
      expect(loaded?.record.active.kid).toBe('kid-3')
      expect(loaded?.record.active.privateKey.reveal()).toBe(key(3).privateKey.reveal())
      expect(loaded?.record.retired.map((k) => [k.kid, k.privateKey.reveal(), k.verifyUntil])).toEqual([
        ['kid-1', key(1).privateKey.reveal(), new Date(Date.parse(at(3)) + 60_000).toISOString()],
      ])
      expect(JSON.stringify(loaded)).not.toContain(key(1).privateKey.reveal())
    })
  })
}
