import { describe, expect, it } from 'vitest'
import { createInMemoryApiKeyStore } from '../../../src/adapters/memory/inMemoryApiKeyStore.js'
import type { ApiKeyStore } from '../../../src/application/auth/ports.js'
import { type ApiKeyId, type KeyHash, newApiKeyRecord, revoke } from '../../../src/domain/security/apiKey.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import type { IsoTimestamp } from '../../../src/domain/tenants/tenant.js'

const record = (keyId: string, tenant: string, createdAt: string) =>
  newApiKeyRecord({
    keyId: keyId as ApiKeyId,
    tenant: tenant as TenantId,
    role: 'reader',
    hash: 'h'.repeat(43) as KeyHash,
    createdAt: createdAt as IsoTimestamp,
  })

/** The ApiKeyStore contract; the KV store will run the same suite. */
const contract = (name: string, make: () => ApiKeyStore) =>
  describe(`ApiKeyStore contract: ${name}`, () => {
    it('insert stores once per keyId; get finds it; unknown is undefined', async () => {
      const s = make()
      const r = record('AAAAAAAAAAAA', 'acme', '2026-12-04T13:00:00.000Z')
      expect(await s.insert(r)).toBe(true)
      expect(await s.insert({ ...r, tenant: 'globex' as TenantId })).toBe(false)
      expect(await s.get(r.keyId)).toEqual(r)
      expect(await s.get('BBBBBBBBBBBB' as ApiKeyId)).toBeUndefined()
    })

    it('update applies the change to the current record; unknown keyId is undefined', async () => {
      const s = make()
      const r = record('AAAAAAAAAAAA', 'acme', '2026-12-04T13:00:00.000Z')
      await s.insert(r)
      const at = '2026-12-04T14:00:00.000Z' as IsoTimestamp
      expect((await s.update(r.keyId, (cur) => revoke(cur, at)))?.revokedAt).toBe(at)
      expect((await s.get(r.keyId))?.revokedAt).toBe(at)
      expect(await s.update('BBBBBBBBBBBB' as ApiKeyId, (cur) => cur)).toBeUndefined()
    })

    it('listByTenant gives only that tenant, oldest first', async () => {
      const s = make()
      await s.insert(record('CCCCCCCCCCCC', 'acme', '2026-12-04T13:00:02.000Z'))
      await s.insert(record('AAAAAAAAAAAA', 'acme', '2026-12-04T13:00:01.000Z'))
      await s.insert(record('BBBBBBBBBBBB', 'globex', '2026-12-04T13:00:00.000Z'))
      expect((await s.listByTenant('acme' as TenantId)).map((r) => r.keyId)).toEqual(['AAAAAAAAAAAA', 'CCCCCCCCCCCC'])
      expect(await s.listByTenant('nobody' as TenantId)).toEqual([])
    })
  })

contract('in memory', createInMemoryApiKeyStore)
