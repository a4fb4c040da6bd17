import { createInMemoryRefreshTokenStore, createInMemorySigningKeyStore, createInMemoryUserStore } from '../../../src/adapters/memory/inMemoryAuthStores.js'
import { authStoreContract } from '../../support/authStoreContract.js'

authStoreContract('in memory', async () => {
  const users = createInMemoryUserStore()
  return {
    users,
    refreshTokens: createInMemoryRefreshTokenStore(),
    signingKeys: createInMemorySigningKeyStore(),
    putRawUser: async (key, bytes) => {
      users.bucket.putRaw(key, bytes)
    },
  }
})
