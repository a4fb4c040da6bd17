import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { PolicyRule } from '../../domain/security/policies.js'
import type { DomainError } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { type AppendError, internal, unavailable } from '../streams/errors.js'
import type { PolicyStore, PolicyStoreError, StoredPolicies } from './ports.js'

/** Most load → change → compare-and-set rounds before giving up on racing writers (N racers need at most N rounds: every lost round is another's win). */
export const MAX_POLICY_WRITE_ATTEMPTS = 25

/** A store failure as the request's error: an outage is `Unavailable`, a corrupt set `Internal` (it needs repair, not a retry). */
export const fromStoreError = (e: PolicyStoreError): AppendError => {
  switch (e._tag) {
    case 'PolicyStoreUnavailable':
      return unavailable(`the policy store did not answer: ${e.message}`)
    case 'CorruptPolicySet':
      return internal(`the stored policies of tenant ${e.tenant} are corrupt (revision ${e.revision}): ${e.message}`)
    case 'PolicyRevisionConflict':
      return unavailable(`the policies of tenant ${e.tenant} kept changing under ${MAX_POLICY_WRITE_ATTEMPTS} attempts; retry`)
    default: {
      const never: never = e
      return never
    }
  }
}

/**
 * Loads `tenant`'s rules, applies `change`, and writes the result with compare-and-set on the
 * revision it loaded; on a conflict it loads again and re-applies, at most
 * {@link MAX_POLICY_WRITE_ATTEMPTS} rounds. A change that answers the same array writes nothing.
 * A refused change is its error, with nothing written. An outage is not retried (the write may
 * have landed).
 */
export const changePolicies =
  (
    store: PolicyStore,
    tenant: TenantId,
    change: (rules: readonly PolicyRule[]) => E.Either<DomainError | AppendError, readonly PolicyRule[]>,
  ): TE.TaskEither<AppendError, StoredPolicies> =>
  async () => {
    for (let attempt = 1; ; attempt++) {
      const loaded = await store.get(tenant)()
      if (E.isLeft(loaded)) return E.left(fromStoreError(loaded.left))
      const next = change(loaded.right.rules)
      if (E.isLeft(next)) return next
      if (next.right === loaded.right.rules) return E.right(loaded.right)
      const written = await store.put(tenant, next.right, loaded.right.revision)()
      if (E.isRight(written)) return written
      if (written.left._tag !== 'PolicyRevisionConflict' || attempt >= MAX_POLICY_WRITE_ATTEMPTS) return E.left(fromStoreError(written.left))
    }
  }
