import { createInMemoryReadModelStore } from '../../../src/adapters/memory/inMemoryReadModelStore.js'
import { readModelStoreContract } from '../../support/readModelStoreContract.js'

readModelStoreContract('in memory', async () => createInMemoryReadModelStore())
