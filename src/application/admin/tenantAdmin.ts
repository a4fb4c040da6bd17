import * as E from 'fp-ts/lib/Either.js'
import { authorize } from '../../domain/security/permissions.js'
import type { Identity } from '../../domain/security/roles.js'
import { badRequest } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { type IsoTimestamp, type Tenant, activate, changeQuotas, newTenant, softDelete, suspend } from '../../domain/tenants/tenant.js'
import type { TenantCommand } from '../../domain/tenants/tenantRequests.js'
import { type AppendError, internal, unavailable } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import { type ChangeTenantError, changeTenant, type TenantTransition } from '../tenants/changeTenant.js'
import type { TenantStore, TenantStoreError } from '../tenants/ports.js'

export interface TenantAdminDeps {
  readonly tenants: TenantStore
  readonly clock: Clock
}

/** A page of `tenants.list`. */
export interface TenantListReply {
  readonly tenants: readonly Tenant[]
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: TenantId
}

/** Maps a store failure to the wire's error values. `TenantExists` is `BadRequest` (409 is the contract's `WRONG_EXPECTED_VERSION`). */
export const tenantStoreFailure = (e: TenantStoreError): AppendError => {
  switch (e._tag) {
    case 'TenantExists':
      return badRequest(`tenant ${e.tenant} already exists (a deleted tenant's id is not reused)`, { tenant: e.tenant })
    case 'RevisionConflict':
      return unavailable(`tenant ${e.tenant} is being changed by other requests; retry`, { retryAfterMs: 100 })
    case 'CorruptTenantRecord':
      return internal(`the stored record of tenant ${e.tenant} is corrupt: ${e.message}`)
    case 'TenantStoreUnavailable':
      return unavailable(`the tenant registry cannot serve this now: ${e.message}`, { retryAfterMs: 1_000 })
    default: {
      const never: never = e
      return never
    }
  }
}

const changeFailure = (e: ChangeTenantError): AppendError =>
  e._tag === 'TenantExists' || e._tag === 'RevisionConflict' || e._tag === 'CorruptTenantRecord' || e._tag === 'TenantStoreUnavailable' ? tenantStoreFailure(e) : e

const change = async (deps: TenantAdminDeps, tenant: TenantId, transition: TenantTransition): Promise<E.Either<AppendError, Tenant>> => {
  const r = await changeTenant(deps.tenants, tenant, transition)()
  return E.isLeft(r) ? E.left(changeFailure(r.left)) : E.right(r.right.record)
}

/**
 * Runs one tenant admin command (`allsource.admin.tenants.<command>`; the NATS endpoint, an HTTP
 * route and the CLI all call this). Answers the tenant record, or a page `{ tenants, next? }` for
 * `list`.
 *
 * - `create` stores a new active tenant (tier `free` unless given, quotas over the tier's); an id
 *   already stored, deleted ones included, is `BadRequest`.
 * - `get` answers the record, deleted ones too (status `deleted`); unknown is `TenantNotFound`.
 * - `update`, `suspend`, `activate`, `delete` go through `changeTenant` (compare-and-set, retried
 *   on conflict); a repeated one answers the record unchanged; a deleted tenant refuses all but
 *   `delete` (`IllegalTransition`, `BAD_REQUEST`).
 *
 * `caller`: when the authentication layer knows who asks, it is checked here with `authorize`
 * (`manageTenants`, platform-wide: operators only). Without it no check runs: the NATS door
 * relies on NATS permissions today.
 */
export const runTenantCommand =
  (deps: TenantAdminDeps) =>
  async (command: TenantCommand, caller?: Identity): Promise<E.Either<AppendError, Tenant | TenantListReply>> => {
    if (caller !== undefined) {
      const allowed = authorize(caller, 'manageTenants')
      if (E.isLeft(allowed)) return allowed
    }
    switch (command._tag) {
      case 'Create': {
        const record = newTenant(command.tenant, deps.clock.now().toISOString() as IsoTimestamp, command)
        const r = await deps.tenants.create(record)()
        return E.isLeft(r) ? E.left(tenantStoreFailure(r.left)) : E.right(r.right.record)
      }
      case 'Get': {
        const r = await deps.tenants.get(command.tenant)()
        if (E.isLeft(r)) return E.left(tenantStoreFailure(r.left))
        return r.right === undefined ? E.left({ _tag: 'TenantNotFound', tenant: command.tenant }) : E.right(r.right.record)
      }
      case 'List': {
        const r = await deps.tenants.list(command)()
        if (E.isLeft(r)) return E.left(tenantStoreFailure(r.left))
        const { tenants, next } = r.right
        return E.right({ tenants: tenants.map((s) => s.record), ...(next !== undefined ? { next } : {}) })
      }
      case 'Update':
        return change(deps, command.tenant, (rec) => {
          if (command.tier === undefined && command.quotas === undefined) return rec.status === 'deleted' ? changeQuotas(rec, {}) : E.right(rec)
          return changeQuotas(rec, command)
        })
      case 'Suspend':
        return change(deps, command.tenant, suspend)
      case 'Activate':
        return change(deps, command.tenant, activate)
      case 'Delete':
        return change(deps, command.tenant, softDelete)
      default: {
        const never: never = command
        return never
      }
    }
  }
