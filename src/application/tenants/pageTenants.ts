import * as E from 'fp-ts/lib/Either.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { CorruptTenantRecord, ListTenantsOptions, StoredTenant, TenantPage, TenantStoreError } from './ports.js'

/** Most records loaded at once while filling a page. */
const BATCH = 32

/**
 * One page of {@link TenantStore.list} for a store that can list its keys and load one record:
 * sorts the keys, skips up to `after`, and loads records in order (a batch at a time) until the
 * page holds `limit` of them and one more is known to follow (then `next` is set), or the keys end. Deleted tenants are skipped unless asked for, a key gone since the
 * listing is skipped, a corrupt record is reported in `corrupt` and skipped; any other error
 * fails the page.
 */
export const pageTenants = async (
  keys: readonly string[],
  load: (key: string) => Promise<E.Either<TenantStoreError, StoredTenant | undefined>>,
  options: ListTenantsOptions,
): Promise<E.Either<TenantStoreError, TenantPage>> => {
  const limit = Math.max(1, Math.floor(options.limit))
  const after = options.after
  const sorted = [...new Set(keys)].sort().filter((k) => after === undefined || k > after)
  const tenants: StoredTenant[] = []
  const corrupt: CorruptTenantRecord[] = []
  for (let from = 0; from < sorted.length; from += BATCH) {
    const loaded = await Promise.all(sorted.slice(from, from + BATCH).map(load))
    for (const r of loaded) {
      if (E.isLeft(r)) {
        if (r.left._tag !== 'CorruptTenantRecord') return r
        corrupt.push(r.left)
        continue
      }
      const stored = r.right
      if (stored === undefined || (stored.record.status === 'deleted' && options.includeDeleted !== true)) continue
      if (tenants.length === limit) {
        // One record more exists: the page is full and another follows it.
        const next = (tenants[limit - 1] as StoredTenant).record.tenant as TenantId
        return E.right({ tenants, corrupt: corrupt.filter((c) => c.tenant < next), next })
      }
      tenants.push(stored)
    }
  }
  return E.right({ tenants, corrupt })
}
