import { describe } from 'vitest'
import { createInMemoryApiKeyStore } from '../../../src/adapters/memory/inMemoryApiKeyStore.js'
import { apiKeyStoreContract } from '../../support/apiKeyStoreContract.js'

describe('in-memory API key store', () => {
  apiKeyStoreContract('in memory', async () => ({ store: createInMemoryApiKeyStore() }))
})
