import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { type DomainError, tenantNotFound } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import type { StoredTenant, TenantStore, TenantStoreError } from './ports.js'

/** A pure change of a tenant record: `suspend`, `activate`, `softDelete`, or `changeQuotas` with its change bound. */
export type TenantTransition = (rec: Tenant) => E.Either<DomainError, Tenant>

export type ChangeTenantError = DomainError | TenantStoreError

export interface ChangeTenantOptions {
  /** Most load → apply → compare-and-set rounds before a `RevisionConflict` is given up on. Default 10. */
  readonly maxAttempts: number
}

export const defaultChangeTenantOptions: ChangeTenantOptions = { maxAttempts: 10 }

/**
 * Loads `tenant`, applies `transition` to its record and writes the result with compare-and-set
 * on the revision it loaded. When another writer got there first (`RevisionConflict`), it loads
 * again and re-applies the transition to the new record, up to `maxAttempts` rounds.
 *
 * Guarantees:
 * - the transition is applied to the record as stored and written at most once: a lost race
 *   writes nothing, so N concurrent changes are all applied exactly once (given enough attempts:
 *   N writers racing need at most N rounds, since every lost round is another writer's win);
 * - an unknown id is `TenantNotFound`; a refused transition is its `DomainError`, with nothing
 *   written; a transition that returns the record itself (already applied) writes nothing and
 *   answers the stored record;
 * - only conflicts are retried: `TenantStoreUnavailable` (outcome unknown) and
 *   `CorruptTenantRecord` are answered as they are, so a transition is never re-applied over a
 *   write that may have landed.
 */
export const changeTenant =
  (
    store: TenantStore,
    tenant: TenantId,
    transition: TenantTransition,
    options: Partial<ChangeTenantOptions> = {},
  ): TE.TaskEither<ChangeTenantError, StoredTenant> =>
  async () => {
    const { maxAttempts } = { ...defaultChangeTenantOptions, ...options }
    for (let attempt = 1; ; attempt++) {
      const loaded = await store.get(tenant)()
      if (E.isLeft(loaded)) return loaded
      const current = loaded.right
      if (current === undefined) return E.left(tenantNotFound(tenant))
      const next = transition(current.record)
      if (E.isLeft(next)) return next
      if (next.right === current.record) return E.right(current)
      if (next.right.tenant !== tenant) throw new Error(`a tenant transition changed the id ${tenant} to ${next.right.tenant}`)
      const written = await store.update(next.right, current.revision)()
      if (E.isRight(written) || written.left._tag !== 'RevisionConflict' || attempt >= maxAttempts) return written
    }
  }
