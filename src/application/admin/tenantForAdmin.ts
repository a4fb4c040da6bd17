import * as E from 'fp-ts/lib/Either.js'
import { authorize } from '../../domain/security/permissions.js'
import type { Identity } from '../../domain/security/roles.js'
import { tenantNotFound } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import type { AppendError } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { tenantStoreFailure } from './tenantAdmin.js'

/**
 * What every command on a tenant's access (keys, users) checks first: the caller, when known, may
 * `manageUsersAndKeys` on `tenant` (`authorize`); the tenant exists and is not deleted (else
 * `TenantNotFound`; a suspended one is answered, so its access can be reviewed and revoked during
 * an incident). A store failure is mapped by `tenantStoreFailure`.
 */
export const tenantForAccessAdmin = async (tenants: TenantStore, tenant: TenantId, caller: Identity | undefined): Promise<E.Either<AppendError, Tenant>> => {
  if (caller !== undefined) {
    const allowed = authorize(caller, 'manageUsersAndKeys', tenant)
    if (E.isLeft(allowed)) return allowed
  }
  const stored = await tenants.get(tenant)()
  if (E.isLeft(stored)) return E.left(tenantStoreFailure(stored.left))
  const record = stored.right?.record
  return record === undefined || record.status === 'deleted' ? E.left(tenantNotFound(tenant)) : E.right(record)
}
