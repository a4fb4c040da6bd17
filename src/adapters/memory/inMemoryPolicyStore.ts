import * as E from 'fp-ts/lib/Either.js'
import type { PolicyChange, PolicyStore, PolicyStoreError, StoredPolicies } from '../../application/policies/ports.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { decodePolicyJson, encodePolicyJson } from '../codec/policyJson.js'

/** A policy store in memory, for tests and for running without a server. */
export interface InMemoryPolicyStore extends PolicyStore {
  /** Stores raw bytes under a key as a new revision, bypassing the codec (to test corrupt sets). */
  putRaw(key: string, bytes: Uint8Array): number
}

/**
 * Sets are kept encoded, as the KV store keeps them, and decoded on every read, so both stores
 * answer the same values and errors. Revisions are one counter for the whole store, as a KV
 * bucket's stream sequence is. Watchers are called synchronously, inside the write.
 */
export const createInMemoryPolicyStore = (): InMemoryPolicyStore => {
  const keys = new Map<string, { readonly bytes: Uint8Array; readonly revision: number }>()
  const watchers = new Set<(c: PolicyChange) => void>()
  let sequence = 0

  const load = (key: string): E.Either<PolicyStoreError, StoredPolicies> => {
    const raw = keys.get(key)
    if (raw === undefined) return E.right({ rules: [], revision: 0 })
    return E.map((rules: StoredPolicies['rules']) => ({ rules, revision: raw.revision }))(decodePolicyJson(key, raw.revision, raw.bytes))
  }
  const changeOf = (key: string): PolicyChange => {
    const raw = keys.get(key)
    const policies = raw === undefined ? E.right({ rules: [], revision: 0 }) : E.map((rules: StoredPolicies['rules']) => ({ rules, revision: raw.revision }))(decodePolicyJson(key, raw.revision, raw.bytes))
    return { tenant: key as TenantId, policies }
  }
  const store = (key: string, bytes: Uint8Array): number => {
    keys.set(key, { bytes, revision: ++sequence })
    const change = changeOf(key)
    for (const w of watchers) w(change)
    return sequence
  }

  return {
    get: (tenant) => async () => load(tenant),
    put: (tenant, rules, expectedRevision) => async () => {
      const now = keys.get(tenant)?.revision ?? 0
      if (now !== expectedRevision) return E.left({ _tag: 'PolicyRevisionConflict', tenant, expected: expectedRevision })
      return E.right({ rules, revision: store(tenant, encodePolicyJson(rules)) })
    },
    watch: (onChange) => async () => {
      for (const k of keys.keys()) onChange(changeOf(k))
      watchers.add(onChange)
      return E.right(() => {
        watchers.delete(onChange)
      })
    },
    putRaw: store,
  }
}
