import { describe } from 'vitest'
import { createInMemoryTenantStore } from '../../../src/adapters/memory/inMemoryTenantStore.js'
import { tenantStoreContract } from '../../support/tenantStoreContract.js'

describe('in-memory tenant store', () => {
  tenantStoreContract('in memory', async () => {
    const store = createInMemoryTenantStore()
    return {
      store,
      putRaw: async (key, bytes) => {
        store.putRaw(key, bytes)
      },
    }
  })
})
