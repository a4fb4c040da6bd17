export { type ApiKeyDeps, type CreatedKey, type VerifiedKey, createKey, listKeys, revokeKey, verifyKey } from './apiKeys.js'
export type { ApiKeyHasher, ApiKeyStore } from './ports.js'
