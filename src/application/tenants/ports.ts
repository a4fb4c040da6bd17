import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { Tenant } from '../../domain/tenants/tenant.js'

/** A tenant record as last stored, with the revision a compare-and-set update must expect. */
export interface StoredTenant {
  readonly record: Tenant
  /** Changes on every successful write; always > 0. */
  readonly revision: number
}

/** `create` of a tenant id that is already stored (in any status: a soft-deleted id is not reused). */
export interface TenantExists {
  readonly _tag: 'TenantExists'
  readonly tenant: TenantId
}

/** `update` expected a revision the record no longer has (another writer changed it, or it was never created). */
export interface RevisionConflict {
  readonly _tag: 'RevisionConflict'
  readonly tenant: TenantId
  readonly expected: number
}

/** A stored value that is not a valid tenant record (bad JSON, fails the codec, or names another tenant). */
export interface CorruptTenantRecord {
  readonly _tag: 'CorruptTenantRecord'
  /** The key it was stored under. */
  readonly tenant: string
  readonly message: string
  /** The stored value's revision: an `update` expecting it overwrites (repairs) the record. */
  readonly revision: number
}

/** The store did not answer, or failed for a reason other than the above: nothing is known to be written. */
export interface TenantStoreUnavailable {
  readonly _tag: 'TenantStoreUnavailable'
  readonly message: string
}

export type TenantStoreError = TenantExists | RevisionConflict | CorruptTenantRecord | TenantStoreUnavailable

export interface ListTenantsOptions {
  /** Start after this id (exclusive): the previous page's `next`. */
  readonly after?: TenantId
  /** Most records in the page, ≥ 1. */
  readonly limit: number
  /** Include soft-deleted tenants. Default false. */
  readonly includeDeleted?: boolean
}

export interface TenantPage {
  /** Sorted by tenant id (UTF-16 code unit order, which for the id alphabet is ASCII order). */
  readonly tenants: readonly StoredTenant[]
  /** Present when at least one more record follows: pass it as `after` for the next page. */
  readonly next?: TenantId
  /** Records inside this page's range that could not be decoded: skipped, reported, never fatal. */
  readonly corrupt: readonly CorruptTenantRecord[]
}

/**
 * The tenant registry: one record per tenant id, each write compare-and-set on its revision.
 *
 * Guarantees an implementation must give:
 * - `get` answers the last stored record and its revision, or `undefined` for an id never
 *   created. A soft-deleted tenant is still answered (status `deleted`): callers decide (`admit`).
 * - `create` stores the record only if the id was never stored; otherwise `TenantExists`, and
 *   nothing changes.
 * - `update` stores the record only if its revision is still `expectedRevision`; otherwise
 *   `RevisionConflict`, and nothing changes. Of writers racing from one revision, exactly one wins.
 *   Every successful write answers a new revision greater than the one it replaced.
 * - `list` answers records in ascending id order; deleted ones only when asked. Paging by `after`
 *   never repeats or skips a record that exists for the whole listing.
 * - A record that does not decode is `CorruptTenantRecord` (from `get`/`update`), or reported in
 *   the page's `corrupt` (from `list`); it never throws.
 * - `TenantStoreUnavailable` means the outcome is unknown; a write may have landed.
 */
export interface TenantStore {
  get(tenant: TenantId): TE.TaskEither<TenantStoreError, StoredTenant | undefined>
  create(record: Tenant): TE.TaskEither<TenantStoreError, StoredTenant>
  update(record: Tenant, expectedRevision: number): TE.TaskEither<TenantStoreError, StoredTenant>
  list(options: ListTenantsOptions): TE.TaskEither<TenantStoreError, TenantPage>
}
