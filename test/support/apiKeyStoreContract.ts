import { describe, expect, it } from 'vitest'
import type { ApiKeyStore } from '../../src/application/auth/ports.js'
import { type ApiKeyId, type ApiKeyRecord, type KeyHash, type KeyName, markUsed, newApiKeyRecord, revoke } from '../../src/domain/security/apiKey.js'
import type { TenantId } from '../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../src/domain/tenants/tenant.js'

/** A fresh, empty store; a KV store also gives a way to write raw values behind its back. */
export interface OpenedApiKeyStore {
  readonly store: ApiKeyStore
  /** Stores raw bytes as the record of `keyId`, listed under `tenant` when given. Absent for stores that keep no bytes. */
  readonly putRaw?: (keyId: string, bytes: Uint8Array, tenant?: string) => Promise<void>
  /** The keys of the corrupt values the store reported so far. */
  readonly corruptReported?: () => readonly string[]
}

const kid = (s: string) => s as ApiKeyId
const tid = (s: string) => s as TenantId
const iso = (s: string) => s as IsoTimestamp

export const keyRecord = (keyId: string, tenant: string, createdAt = '2026-12-04T13:00:00.000Z'): ApiKeyRecord =>
  newApiKeyRecord({ keyId: kid(keyId), tenant: tid(tenant), role: 'reader', hash: 'h'.repeat(43) as KeyHash, createdAt: iso(createdAt) })

/**
 * The contract every {@link ApiKeyStore} keeps (the port's TSDoc). `open` gives a fresh, empty
 * store; the tests use only the port, plus `putRaw` for corrupt values when the store has bytes.
 */
export const apiKeyStoreContract = (name: string, open: () => Promise<OpenedApiKeyStore>): void => {
  describe(`ApiKeyStore contract: ${name}`, () => {
    it('insert stores once per keyId, whatever the tenant; get finds it; unknown is undefined', async () => {
      const { store } = await open()
      const r = keyRecord('AAAAAAAAAAAA', 'acme')
      expect(await store.insert(r)).toBe(true)
      expect(await store.insert({ ...r, tenant: tid('globex') })).toBe(false)
      expect(await store.get(r.keyId)).toEqual(r)
      expect(await store.get(kid('BBBBBBBBBBBB'))).toBeUndefined()
      expect(await store.listByTenant(tid('globex'))).toEqual([])
    })

    it('of inserts racing on one keyId exactly one wins', async () => {
      const { store } = await open()
      const tenants = ['a', 'b', 'c', 'd', 'e', 'f']
      const won = await Promise.all(tenants.map((t) => store.insert(keyRecord('RRRRRRRRRRRR', t))))
      expect(won.filter((w) => w)).toHaveLength(1)
      const winner = tenants[won.indexOf(true)] as string
      expect((await store.get(kid('RRRRRRRRRRRR')))?.tenant).toBe(winner)
      for (const t of tenants) expect((await store.listByTenant(tid(t))).length).toBe(t === winner ? 1 : 0)
    })

    it('update applies the change to the current record, visible to the next get; unchanged answers the record; unknown is undefined', async () => {
      const { store } = await open()
      const r = keyRecord('AAAAAAAAAAAA', 'acme')
      await store.insert(r)
      const at = iso('2026-12-04T14:00:00.000Z')
      expect((await store.update(r.keyId, (cur) => revoke(cur, at)))?.revokedAt).toBe(at)
      const revoked = await store.get(r.keyId)
      expect(revoked?.revokedAt).toBe(at)
      expect(await store.update(r.keyId, (cur) => revoke(cur, iso('2026-12-05T00:00:00.000Z')))).toEqual(revoked)
      expect(await store.get(r.keyId)).toEqual(revoked)
      let called = false
      expect(await store.update(kid('BBBBBBBBBBBB'), (cur) => ((called = true), cur))).toBeUndefined()
      expect(called).toBe(false)
    })

    it('listByTenant gives every key of that tenant and no other, revoked included, oldest first', async () => {
      const { store } = await open()
      await store.insert(keyRecord('CCCCCCCCCCCC', 'acme', '2026-12-04T13:00:02.000Z'))
      await store.insert(keyRecord('AAAAAAAAAAAA', 'acme', '2026-12-04T13:00:01.000Z'))
      await store.insert(keyRecord('DDDDDDDDDDDD', 'acme', '2026-12-04T13:00:01.000Z'))
      await store.insert(keyRecord('BBBBBBBBBBBB', 'globex', '2026-12-04T13:00:00.000Z'))
      // Tenant ids that share a prefix are different tenants.
      await store.insert(keyRecord('EEEEEEEEEEEE', 'acme-2', '2026-12-04T13:00:00.000Z'))
      await store.insert(keyRecord('FFFFFFFFFFFF', 'acm', '2026-12-04T13:00:00.000Z'))
      await store.update(kid('CCCCCCCCCCCC'), (cur) => revoke(cur, iso('2026-12-04T15:00:00.000Z')))
      const acme = await store.listByTenant(tid('acme'))
      expect(acme.map((r) => r.keyId)).toEqual(['AAAAAAAAAAAA', 'DDDDDDDDDDDD', 'CCCCCCCCCCCC'])
      expect(acme[2]?.revokedAt).toBe('2026-12-04T15:00:00.000Z')
      expect((await store.listByTenant(tid('acme-2'))).map((r) => r.keyId)).toEqual(['EEEEEEEEEEEE'])
      expect((await store.listByTenant(tid('acm'))).map((r) => r.keyId)).toEqual(['FFFFFFFFFFFF'])
      expect(await store.listByTenant(tid('nobody'))).toEqual([])
    })

    it('concurrent updates are each applied once to the record as stored: none lost, and a revocation is never undone', async () => {
      const { store } = await open()
      const r = keyRecord('AAAAAAAAAAAA', 'acme')
      await store.insert(r)
      const letters = 'abcdefghijklmnopqrst'.split('')
      const revokedAt = iso('2026-12-04T13:30:00.000Z')
      // Each writer appends its letter to the name; half of them also record a use; one revokes.
      const writers = letters.map((l, i) =>
        store.update(r.keyId, (cur) => {
          const named = { ...cur, name: `${cur.name ?? '-'}${l}` as KeyName }
          return i % 2 === 0 ? markUsed(named, iso(`2026-12-04T13:${String(10 + i).padStart(2, '0')}:00.000Z`)) : named
        }),
      )
      const revoker = store.update(r.keyId, (cur) => revoke(cur, revokedAt))
      const results = await Promise.all([...writers, revoker])
      expect(results.every((x) => x !== undefined)).toBe(true)
      const final = await store.get(r.keyId)
      expect(final?.revokedAt).toBe(revokedAt)
      expect([...(final?.name ?? '').slice(1)].sort()).toEqual(letters)
      expect(final?.lastUsedAt).toBeDefined()
    })

    it('a corrupt value is never a crash: get and update treat it as absent, listings skip it, it is reported', async (ctx) => {
      const { store, putRaw, corruptReported } = await open()
      if (putRaw === undefined) return ctx.skip()
      const enc = (s: string) => new TextEncoder().encode(s)
      const good = keyRecord('GGGGGGGGGGGG', 'acme')
      await store.insert(good)
      const bad: Record<string, Uint8Array> = {
        JJJJJJJJJJJJ: enc('{"keyId": "JJJJJJJJJJJJ", '),
        UUUUUUUUUUUU: new Uint8Array([0xff, 0xfe, 0x7b]),
        OOOOOOOOOOOO: enc(JSON.stringify({ ...keyRecord('OOOOOOOOOOOO', 'acme'), role: 'operator' })),
        HHHHHHHHHHHH: enc(JSON.stringify({ ...keyRecord('HHHHHHHHHHHH', 'acme'), hash: 'short' })),
        XXXXXXXXXXXX: enc(JSON.stringify(keyRecord('YYYYYYYYYYYY', 'acme'))),
        NNNNNNNNNNNN: enc('null'),
      }
      for (const [keyId, bytes] of Object.entries(bad)) await putRaw(keyId, bytes, 'acme')
      // Listed under acme, but the record is globex's: not acme's key.
      await putRaw('TTTTTTTTTTTT', enc(JSON.stringify(keyRecord('TTTTTTTTTTTT', 'globex'))), 'acme')
      for (const keyId of Object.keys(bad)) {
        expect(await store.get(kid(keyId))).toBeUndefined()
        expect(await store.update(kid(keyId), (cur) => revoke(cur, iso('2026-12-04T14:00:00.000Z')))).toBeUndefined()
        expect(await store.insert(keyRecord(keyId, 'acme'))).toBe(false)
      }
      expect((await store.listByTenant(tid('acme'))).map((x) => x.keyId)).toEqual(['GGGGGGGGGGGG'])
      if (corruptReported !== undefined) {
        const reported = new Set(corruptReported())
        for (const keyId of [...Object.keys(bad), 'TTTTTTTTTTTT']) expect([...reported].some((k) => k.endsWith(keyId))).toBe(true)
      }
    })
  })
}
