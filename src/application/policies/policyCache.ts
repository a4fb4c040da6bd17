import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { type CompiledPolicies, compilePolicies } from '../../domain/security/policies.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { type AppendError, unavailable } from '../streams/errors.js'
import type { PolicyChange, PolicyStore, PolicyStoreError } from './ports.js'

/** Every tenant's rules, compiled, in memory: what the append path reads, with no I/O. */
export interface PolicyCache {
  /**
   * The tenant's rules as last seen by the watch. A tenant with none: an empty set (everything
   * allowed). A tenant whose stored set does not decode: `Unavailable` — the cache fails closed
   * rather than letting appends through unchecked.
   */
  policiesOf(tenant: TenantId): E.Either<AppendError, CompiledPolicies>
  /** The revision of the set the cache holds for `tenant` (0: none). */
  revisionOf(tenant: TenantId): number
  /** Ends the watch. */
  stop(): void
}

const empty = compilePolicies([])

/**
 * Starts a cache kept current by `store.watch`: it resolves once every tenant's stored rules are
 * loaded, and from then on each write is applied as the watch delivers it (for the KV store, a
 * push from the server: milliseconds, no polling, no restart). A set is compiled once per change,
 * so an append's check costs no parsing. Revisions only move forward: a re-delivered older value
 * (after the watch is re-opened) never replaces a newer one.
 */
export const startPolicyCache = (store: PolicyStore, onError?: (err: unknown) => void): TE.TaskEither<PolicyStoreError, PolicyCache> => {
  const sets = new Map<string, { readonly revision: number; readonly policies: E.Either<AppendError, CompiledPolicies> }>()
  const apply = ({ tenant, policies }: PolicyChange): void => {
    const revision = E.isRight(policies) ? policies.right.revision : policies.left.revision
    const held = sets.get(tenant)
    if (held !== undefined && revision !== 0 && revision < held.revision) return
    sets.set(tenant, {
      revision,
      policies: E.isRight(policies)
        ? E.right(compilePolicies(policies.right.rules))
        : E.left(unavailable(`the policies of tenant ${tenant} cannot be read: ${policies.left.message}`)),
    })
  }
  return async () => {
    const watching = await store.watch(apply, onError)()
    return E.map((stop: () => void) => ({
      policiesOf: (tenant: TenantId) => sets.get(tenant)?.policies ?? E.right(empty),
      revisionOf: (tenant: TenantId) => sets.get(tenant)?.revision ?? 0,
      stop,
    }))(watching)
  }
}
