import { describe } from 'vitest'
import { createInMemoryPolicyStore } from '../../../src/adapters/memory/inMemoryPolicyStore.js'
import { policyStoreContract } from '../../support/policyStoreContract.js'

describe('in-memory policy store', () => {
  policyStoreContract('in memory', async () => {
    const store = createInMemoryPolicyStore()
    return {
      store,
      putRaw: async (key, bytes) => {
        store.putRaw(key, bytes)
      },
    }
  })
})
