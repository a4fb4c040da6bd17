import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createHmacApiKeyHasher } from '../../../src/adapters/crypto/hmacApiKeyHasher.js'
import { createInMemoryApiKeyStore } from '../../../src/adapters/memory/inMemoryApiKeyStore.js'
import { type ApiKeyDeps, createKey, listKeys, revokeKey, verifyKey } from '../../../src/application/auth/apiKeys.js'
import type { ApiKeyStore } from '../../../src/application/auth/ports.js'
import { type ApiKeyId, type ApiKeyRecord, type CreateKeyRequest, parseApiKey } from '../../../src/domain/security/apiKey.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../../src/domain/tenants/tenant.js'

const PEPPER = 'pepper-for-tests-0123456789abcdef-0123456789'
const acme = 'acme' as TenantId
const globex = 'globex' as TenantId
const t0 = new Date('2026-12-04T13:00:00.000Z')
const plus = (ms: number) => new Date(t0.getTime() + ms)

interface Fixture extends ApiKeyDeps {
  readonly records: () => Promise<readonly ApiKeyRecord[]>
  readonly writes: () => number
  setNow(d: Date): void
}

const fixture = (pepper: string = PEPPER, store: ApiKeyStore = createInMemoryApiKeyStore()): Fixture => {
  let now = t0
  let writes = 0
  const counted: ApiKeyStore = {
    ...store,
    update: (id, change) => store.update(id, (cur) => {
      const next = change(cur)
      if (next !== cur) writes++
      return next
    }),
  }
  return {
    store: counted,
    hasher: createHmacApiKeyHasher({ pepper }),
    clock: { now: () => now },
    records: async () => [...(await store.listByTenant(acme)), ...(await store.listByTenant(globex))],
    writes: () => writes,
    setNow: (d) => {
      now = d
    },
  }
}

const right = <A>(r: E.Either<unknown, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got ${JSON.stringify(r.left)}`)
  return r.right
}
const unauthorized = E.left({ _tag: 'Unauthorized', message: 'missing or invalid credentials' })
const req = (r: Partial<CreateKeyRequest> = {}): CreateKeyRequest => ({ role: 'service', ...r }) as CreateKeyRequest

describe('API keys: create, verify, revoke, list', () => {
  it('a created key verifies as its tenant and role, and its keyId is in the key', async () => {
    const f = fixture()
    const { keyId, key } = right(await createKey(f)(acme, req({ role: 'reader' })))
    expect(key.reveal().startsWith(`as_${keyId}_`)).toBe(true)
    expect(await verifyKey(f)(key.reveal(), t0)).toEqual(E.right({ tenant: acme, role: 'reader', keyId }))
  })

  it("another tenant's key gives that tenant's identity only", async () => {
    const f = fixture()
    const a = right(await createKey(f)(acme, req({ role: 'admin' })))
    const g = right(await createKey(f)(globex, req({ role: 'reader' })))
    expect(right(await verifyKey(f)(g.key.reveal(), t0))).toEqual({ tenant: globex, role: 'reader', keyId: g.keyId })
    expect(right(await verifyKey(f)(a.key.reveal(), t0))).toEqual({ tenant: acme, role: 'admin', keyId: a.keyId })
    // Nor can acme revoke or list globex's key.
    expect(await revokeKey(f)(acme, g.keyId)).toEqual(E.left(expect.objectContaining({ _tag: 'NotFound' })))
    expect((await listKeys(f)(acme)).map((k) => k.keyId)).toEqual([a.keyId])
    expect(E.isRight(await verifyKey(f)(g.key.reveal(), t0))).toBe(true)
  })

  it('refuses tampered keys, a secret moved onto another keyId, and garbage: always the same Unauthorized', async () => {
    const f = fixture()
    const a = right(await createKey(f)(acme, req())).key.reveal()
    const b = right(await createKey(f)(acme, req())).key.reveal()
    const pa = right(parseApiKey(a))
    const pb = right(parseApiKey(b))
    // a's secret under b's keyId, with a correct checksum: passes the format, fails the hash.
    const { formatApiKey } = await import('../../../src/domain/security/apiKey.js')
    expect(await verifyKey(f)(formatApiKey(pb.keyId, pa.secret).reveal(), t0)).toEqual(unauthorized)
    // A forged secret for a real keyId, with a correct checksum.
    const { secret } = await import('../../../src/domain/security/secret.js')
    expect(await verifyKey(f)(formatApiKey(pa.keyId, secret('x'.repeat(43))).reveal(), t0)).toEqual(unauthorized)
    // An unknown keyId.
    expect(await verifyKey(f)(formatApiKey('000000000000' as ApiKeyId, pa.secret).reveal(), t0)).toEqual(unauthorized)
    for (const bad of [a.slice(0, -1), a + 'x', a.replace('as_', 'as-'), '', undefined, null, 42, {}, { key: a }]) {
      expect(await verifyKey(f)(bad, t0)).toEqual(unauthorized)
    }
  })

  it('fuzz: random and mutated inputs never throw and never verify', async () => {
    const f = fixture()
    const key = right(await createKey(f)(acme, req())).key.reveal()
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.string({ maxLength: 100 }),
          fc.tuple(fc.nat(key.length - 1), fc.string({ minLength: 0, maxLength: 3 })).map(([i, s]) => key.slice(0, i) + s + key.slice(i + 1)),
        ),
        async (u) => {
          fc.pre(u !== key)
          return E.isLeft(await verifyKey(f)(u, t0))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('a key hashed under another pepper does not verify', async () => {
    const store = createInMemoryApiKeyStore()
    const key = right(await createKey(fixture(PEPPER, store))(acme, req())).key.reveal()
    expect(await verifyKey(fixture(PEPPER.toUpperCase(), store))(key, t0)).toEqual(unauthorized)
    expect(E.isRight(await verifyKey(fixture(PEPPER, store))(key, t0))).toBe(true)
  })

  it('a revoked key is refused; revoking again is harmless and keeps the first revokedAt', async () => {
    const f = fixture()
    const { keyId, key } = right(await createKey(f)(acme, req()))
    f.setNow(plus(1000))
    const revoked = right(await revokeKey(f)(acme, keyId))
    expect(revoked.revokedAt).toBe(plus(1000).toISOString())
    f.setNow(plus(5000))
    expect(right(await revokeKey(f)(acme, keyId)).revokedAt).toBe(plus(1000).toISOString())
    expect(await verifyKey(f)(key.reveal(), plus(6000))).toEqual(unauthorized)
    expect(await revokeKey(f)(acme, '000000000000' as ApiKeyId)).toEqual(E.left(expect.objectContaining({ _tag: 'NotFound' })))
  })

  it('an expired key is refused from expiresAt on; a past expiresAt is refused at creation', async () => {
    const f = fixture()
    const expiresAt = plus(60_000).toISOString() as IsoTimestamp
    const { key } = right(await createKey(f)(acme, req({ expiresAt })))
    expect(E.isRight(await verifyKey(f)(key.reveal(), plus(59_999)))).toBe(true)
    expect(await verifyKey(f)(key.reveal(), plus(60_000))).toEqual(unauthorized)
    expect(await createKey(f)(acme, req({ expiresAt: t0.toISOString() as IsoTimestamp }))).toEqual(
      E.left(expect.objectContaining({ _tag: 'BadRequest' })),
    )
  })

  it('records lastUsedAt at most once a minute per key', async () => {
    const f = fixture()
    const { keyId, key } = right(await createKey(f)(acme, req()))
    for (let s = 0; s < 120; s += 10) await verifyKey(f)(key.reveal(), plus(s * 1000))
    expect(f.writes()).toBe(2) // at 0 s and at 60 s
    expect((await listKeys(f)(acme)).find((k) => k.keyId === keyId)?.lastUsedAt).toBe(plus(60_000).toISOString())
  })

  it('a lastUsedAt write does not undo a revocation that raced it', async () => {
    const f = fixture()
    const { keyId, key } = right(await createKey(f)(acme, req()))
    // Revoke between verifyKey's read and its lastUsedAt write.
    const racing: ApiKeyDeps = {
      ...f,
      store: {
        ...f.store,
        get: async (id) => {
          const r = await f.store.get(id)
          await revokeKey(f)(acme, keyId)
          return r
        },
      },
    }
    await verifyKey(racing)(key.reveal(), t0)
    expect(await verifyKey(f)(key.reveal(), plus(1000))).toEqual(unauthorized)
    expect((await listKeys(f)(acme))[0]?.revokedAt).toBeDefined()
  })

  it('listKeys never includes hashes', async () => {
    const f = fixture()
    await createKey(f)(acme, req({ name: 'ci' as CreateKeyRequest['name'] }))
    const list = await listKeys(f)(acme)
    expect(list).toHaveLength(1)
    expect(list[0]).not.toHaveProperty('hash')
    expect(list[0]?.name).toBe('ci')
  })

  it('secrets are never serialised: records, views, results, errors and the created key all omit the secret', async () => {
    const f = fixture()
    const created = right(await createKey(f)(acme, req({ role: 'admin', name: 'deploy' as CreateKeyRequest['name'] })))
    const text = created.key.reveal()
    const secretPart = right(parseApiKey(text)).secret.reveal()
    const verified = await verifyKey(f)(text, t0)
    const refused = await verifyKey(f)(text.slice(0, -1) + (text.endsWith('A') ? 'B' : 'A'), t0)
    const revoked = await revokeKey(f)(acme, created.keyId)
    const everything = [created, parseApiKey(text), verified, refused, revoked, await listKeys(f)(acme), await f.records(), f.hasher, f]
    const dumps = everything.flatMap((v) => [JSON.stringify(v), String(v), inspect(v, { depth: 20, showHidden: true, getters: true })])
    for (const d of dumps) {
      expect(d).not.toContain(secretPart)
      expect(d).not.toContain(PEPPER)
    }
    expect(JSON.stringify(created)).toBe(`{"keyId":"${created.keyId}","key":"[redacted]"}`)
  })
})

describe('the hasher', () => {
  it('refuses to start without a pepper of at least 32 bytes, and never echoes the pepper', () => {
    expect(() => createHmacApiKeyHasher({} as never)).toThrow(/pepper of at least 32 bytes.*none was given/)
    expect(() => createHmacApiKeyHasher(undefined as never)).toThrow(/none was given/)
    expect(() => createHmacApiKeyHasher({ pepper: '' })).toThrow(/has 0/)
    const short = 'short-pepper-31-bytes-long-xxxx'
    let message = ''
    try {
      createHmacApiKeyHasher({ pepper: short })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/has 31/)
    expect(message).not.toContain(short)
    expect(() => createHmacApiKeyHasher({ pepper: new Uint8Array(32) })).not.toThrow()
  })

  it('generates ≥ 256-bit secrets, all distinct, and a malformed stored hash never verifies', () => {
    const h = createHmacApiKeyHasher({ pepper: PEPPER })
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const { keyId, secret } = h.generate()
      expect(keyId).toMatch(/^[0-9A-Za-z]{12}$/)
      expect(secret.reveal()).toMatch(/^[0-9A-Za-z]{43}$/)
      seen.add(secret.reveal())
    }
    expect(seen.size).toBe(200)
    const { keyId, secret } = h.generate()
    const hash = h.hash(keyId, secret)
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(h.verify(keyId, secret, hash)).toBe(true)
    for (const bad of ['', 'AAAA', hash + 'AA', hash.slice(0, 20)]) expect(h.verify(keyId, secret, bad as never)).toBe(false)
  })
})

describe('verifyKey on an unknown keyId', () => {
  it('still runs the keyed hash and comparison (no shortcut that times differently)', async () => {
    const f = fixture()
    const { key } = right(await createKey(f)(acme, req()))
    const { formatApiKey } = await import('../../../src/domain/security/apiKey.js')
    let verifies = 0
    const counting: ApiKeyDeps = {
      ...f,
      hasher: {
        ...f.hasher,
        verify: (...args) => {
          verifies++
          return f.hasher.verify(...args)
        },
      },
    }
    expect(await verifyKey(counting)(formatApiKey('000000000000' as ApiKeyId, right(parseApiKey(key.reveal())).secret).reveal(), t0)).toEqual(
      unauthorized,
    )
    expect(verifies).toBe(1)
  })
})
