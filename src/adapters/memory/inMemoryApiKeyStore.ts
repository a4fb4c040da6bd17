import type { ApiKeyStore } from '../../application/auth/ports.js'
import { type ApiKeyId, type ApiKeyRecord, oldestFirst } from '../../domain/security/apiKey.js'
import type { TenantId } from '../../domain/streams/ids.js'

/** An {@link ApiKeyStore} in a Map, for tests and a single process. Updates are atomic because they are synchronous. */
export const createInMemoryApiKeyStore = (): ApiKeyStore => {
  const records = new Map<ApiKeyId, ApiKeyRecord>()
  return {
    get: (keyId) => Promise.resolve(records.get(keyId)),
    insert: (record) => {
      if (records.has(record.keyId)) return Promise.resolve(false)
      records.set(record.keyId, record)
      return Promise.resolve(true)
    },
    update: (keyId, change) => {
      const current = records.get(keyId)
      if (current === undefined) return Promise.resolve(undefined)
      const next = change(current)
      if (next !== current) records.set(keyId, next)
      return Promise.resolve(next)
    },
    listByTenant: (tenant: TenantId) =>
      Promise.resolve([...records.values()].filter((r) => r.tenant === tenant).sort(oldestFirst)),
  }
}
