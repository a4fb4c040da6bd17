import type { RefreshTokenStore, SigningKeyStore, UserStore } from '../../application/auth/ports.js'
import { refreshTokenStoreOn, signingKeyStoreOn, userStoreOn } from '../records/authStores.js'
import { createMemoryRecordBucket, type MemoryRecordBucket } from './memoryRecordBucket.js'

/**
 * The auth stores in memory, for tests and a single process. Records are kept encoded and decoded
 * on every read, through the same code as the JetStream KV stores, so both answer the same values
 * and errors. `bucket.putRaw` writes behind the store's back (corrupt-record tests).
 */
export const createInMemoryUserStore = (bucket: MemoryRecordBucket = createMemoryRecordBucket()): UserStore & { readonly bucket: MemoryRecordBucket } => ({
  ...userStoreOn(bucket),
  bucket,
})

export const createInMemoryRefreshTokenStore = (bucket: MemoryRecordBucket = createMemoryRecordBucket()): RefreshTokenStore => refreshTokenStoreOn(bucket)

export const createInMemorySigningKeyStore = (bucket: MemoryRecordBucket = createMemoryRecordBucket()): SigningKeyStore => signingKeyStoreOn(bucket)
