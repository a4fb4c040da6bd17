import type { ApiKeyId, ApiKeyRecord, KeyHash } from '../../domain/security/apiKey.js'
import type { Secret } from '../../domain/security/secret.js'
import type { TenantId } from '../../domain/streams/ids.js'

/**
 * Where API key records live (in memory now; JetStream KV later). Records hold the keyed hash,
 * never a key.
 *
 * Guarantees an implementation must give:
 * - `insert` stores a record only if no record has its keyId, and says whether it did.
 * - `update` applies `change` to the current record atomically (a KV store retries on a
 *   revision conflict), so a `lastUsedAt` write racing a revocation can never un-revoke a key.
 *   When `change` returns the same record, nothing is written. No record: `undefined`.
 * - Adding, changing or revoking a key is visible to the next `get`, with no restart.
 */
export interface ApiKeyStore {
  get(keyId: ApiKeyId): Promise<ApiKeyRecord | undefined>
  insert(record: ApiKeyRecord): Promise<boolean>
  update(keyId: ApiKeyId, change: (current: ApiKeyRecord) => ApiKeyRecord): Promise<ApiKeyRecord | undefined>
  /** Every record of `tenant`, revoked ones included, oldest first. */
  listByTenant(tenant: TenantId): Promise<readonly ApiKeyRecord[]>
}

/**
 * Key material and the keyed hash (an adapter over node:crypto). The pepper it holds is a server
 * secret that never reaches this layer.
 */
export interface ApiKeyHasher {
  /** A fresh random keyId (12 base62 characters) and secret (43 base62 characters, ≥ 256 bits). */
  generate(): { readonly keyId: ApiKeyId; readonly secret: Secret }
  /** The keyed hash of this key, bound to its keyId. Deterministic for one pepper. */
  hash(keyId: ApiKeyId, secret: Secret): KeyHash
  /** Whether `secret` hashes to `expected`, compared in constant time. Never throws on a malformed `expected`. */
  verify(keyId: ApiKeyId, secret: Secret, expected: KeyHash): boolean
}
