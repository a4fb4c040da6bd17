import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { createInMemoryTenantStore } from '../../../src/adapters/memory/inMemoryTenantStore.js'
import { changeTenant } from '../../../src/application/tenants/changeTenant.js'
import type { TenantStore } from '../../../src/application/tenants/ports.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, suspend } from '../../../src/domain/tenants/tenant.js'

const acme = 'acme' as TenantId
const at = '2026-12-04T13:00:00.000Z' as IsoTimestamp

/** The memory store, with every update first losing to a writer that bumps the record's revision. */
const contended = (store: TenantStore, losses: number): { store: TenantStore; updates: () => number } => {
  let updates = 0
  return {
    updates: () => updates,
    store: {
      ...store,
      update: (record, expected) => async () => {
        updates++
        if (updates <= losses) {
          const now = await store.get(record.tenant)()
          if (E.isRight(now) && now.right !== undefined) await store.update(now.right.record, now.right.revision)()
        }
        return store.update(record, expected)()
      },
    },
  }
}

describe('changeTenant', () => {
  it('retries a lost compare-and-set from a fresh load, and gives up after maxAttempts with the conflict', async () => {
    const base = createInMemoryTenantStore()
    await base.create(newTenant(acme, at))()

    const thrice = contended(base, 2)
    const r = await changeTenant(thrice.store, acme, suspend, { maxAttempts: 3 })()
    expect(E.isRight(r) && r.right.record.status).toBe('suspended')
    expect(thrice.updates()).toBe(3)

    const base2 = createInMemoryTenantStore()
    await base2.create(newTenant(acme, at))()
    const always = contended(base2, Number.MAX_SAFE_INTEGER)
    const given = await changeTenant(always.store, acme, suspend, { maxAttempts: 4 })()
    expect(E.isLeft(given) && given.left._tag).toBe('RevisionConflict')
    expect(always.updates()).toBe(4)
    const now = await base2.get(acme)()
    expect(E.isRight(now) && now.right?.record.status).toBe('active')
  })

  it('does not retry an unavailable store: the write may have landed', async () => {
    const base = createInMemoryTenantStore()
    await base.create(newTenant(acme, at))()
    let updates = 0
    const flaky: TenantStore = {
      ...base,
      update: () => async () => {
        updates++
        return E.left({ _tag: 'TenantStoreUnavailable', message: 'timeout' })
      },
    }
    const r = await changeTenant(flaky, acme, suspend)()
    expect(E.isLeft(r) && r.left._tag).toBe('TenantStoreUnavailable')
    expect(updates).toBe(1)
  })

  it('throws (a defect) when a transition changes the tenant id', async () => {
    const base = createInMemoryTenantStore()
    await base.create(newTenant(acme, at))()
    await expect(changeTenant(base, acme, (rec) => E.right({ ...rec, tenant: 'other' as TenantId }))()).rejects.toThrow(/changed the id/)
  })
})
