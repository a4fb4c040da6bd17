import type * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { PolicyRule } from '../../domain/security/policies.js'
import type { TenantId } from '../../domain/streams/ids.js'

/** A tenant's rules as last stored, with the revision a compare-and-set write must expect. */
export interface StoredPolicies {
  readonly rules: readonly PolicyRule[]
  /** Changes on every successful write; `0` for a tenant whose rules were never stored (no rules). */
  readonly revision: number
}

/** `put` expected a revision the rule set no longer has: another writer changed it meanwhile. */
export interface PolicyRevisionConflict {
  readonly _tag: 'PolicyRevisionConflict'
  readonly tenant: TenantId
  readonly expected: number
}

/** A stored value that is not a valid rule set (bad JSON, fails the `PolicySet` codec). */
export interface CorruptPolicySet {
  readonly _tag: 'CorruptPolicySet'
  /** The key it was stored under. */
  readonly tenant: string
  readonly message: string
  /** The stored value's revision: a `put` expecting it overwrites (repairs) the set. */
  readonly revision: number
}

/** The store did not answer, or failed otherwise: nothing is known to be written. */
export interface PolicyStoreUnavailable {
  readonly _tag: 'PolicyStoreUnavailable'
  readonly message: string
}

export type PolicyStoreError = PolicyRevisionConflict | CorruptPolicySet | PolicyStoreUnavailable

/** One tenant's rule set as it now is (after a write, or when a watch starts). */
export interface PolicyChange {
  readonly tenant: TenantId
  readonly policies: E.Either<CorruptPolicySet, StoredPolicies>
}

/**
 * Where each tenant's policy rules live: one rule set per tenant, written whole with
 * compare-and-set on its revision.
 *
 * Guarantees an implementation must give:
 * - `get` answers the last stored set and its revision; a tenant never written has no rules and
 *   revision 0. A value that does not decode is `CorruptPolicySet`, never a throw.
 * - `put` stores `rules` only if the set's revision is still `expectedRevision` (0: only if never
 *   written); otherwise `PolicyRevisionConflict`, and nothing changes. Of writers racing from one
 *   revision exactly one wins; every write answers a revision greater than the one it replaced.
 *   `put` does not validate (callers pass rules that passed the `PolicySet` codec).
 * - `watch` calls `onChange` with every stored tenant's set, then with each later write, in
 *   write order per tenant; the returned task resolves once the sets stored when it started have
 *   been delivered. A watch that fails is reported to `onError` and resumed (re-delivering the
 *   current sets) until the returned stop function is called.
 * - `PolicyStoreUnavailable` means the outcome is unknown; a write may have landed.
 */
export interface PolicyStore {
  get(tenant: TenantId): TE.TaskEither<PolicyStoreError, StoredPolicies>
  put(tenant: TenantId, rules: readonly PolicyRule[], expectedRevision: number): TE.TaskEither<PolicyStoreError, StoredPolicies>
  watch(onChange: (change: PolicyChange) => void, onError?: (err: unknown) => void): TE.TaskEither<PolicyStoreError, () => void>
}

/** Size in bytes of a payload as the log stores it (its msgpack encoding); supplied by an adapter. */
export type PayloadSizer = (payload: unknown) => number
