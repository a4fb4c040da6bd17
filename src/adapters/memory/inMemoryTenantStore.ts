import * as E from 'fp-ts/lib/Either.js'
import type { StoredTenant, TenantStore, TenantStoreError } from '../../application/tenants/ports.js'
import { pageTenants } from '../../application/tenants/pageTenants.js'
import { decodeTenantJson, encodeTenantJson } from '../codec/tenantJson.js'

/** A tenant registry in memory, for tests and for running without a server. */
export interface InMemoryTenantStore extends TenantStore {
  /** Stores raw bytes under a key as a new revision, bypassing the codec (to test corrupt records). */
  putRaw(key: string, bytes: Uint8Array): number
}

/**
 * Records are kept encoded, as the KV store keeps them, and decoded on every read, so both stores
 * answer the same values and the same errors. Revisions are one counter for the whole store, as a
 * KV bucket's stream sequence is.
 */
export const createInMemoryTenantStore = (): InMemoryTenantStore => {
  const keys = new Map<string, { readonly bytes: Uint8Array; readonly revision: number }>()
  let sequence = 0

  const load = (key: string): E.Either<TenantStoreError, StoredTenant | undefined> => {
    const raw = keys.get(key)
    if (raw === undefined) return E.right(undefined)
    return E.map((record: StoredTenant['record']) => ({ record, revision: raw.revision }))(decodeTenantJson(key, raw.revision, raw.bytes))
  }

  const write = (record: StoredTenant['record']): StoredTenant => {
    keys.set(record.tenant, { bytes: encodeTenantJson(record), revision: ++sequence })
    return { record, revision: sequence }
  }

  return {
    get: (tenant) => async () => load(tenant),
    create: (record) => async () => (keys.has(record.tenant) ? E.left({ _tag: 'TenantExists', tenant: record.tenant }) : E.right(write(record))),
    update: (record, expectedRevision) => async () => {
      const now = keys.get(record.tenant)?.revision ?? 0
      if (now === 0 || now !== expectedRevision) return E.left({ _tag: 'RevisionConflict', tenant: record.tenant, expected: expectedRevision })
      return E.right(write(record))
    },
    list: (options) => () => pageTenants([...keys.keys()], async (k) => load(k), options),
    putRaw(key, bytes) {
      keys.set(key, { bytes, revision: ++sequence })
      return sequence
    },
  }
}
