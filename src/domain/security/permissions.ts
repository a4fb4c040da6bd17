import * as E from 'fp-ts/lib/Either.js'
import type { TenantId } from '../streams/ids.js'
import { type DomainError, forbidden } from '../streams/errors.js'
import type { Identity, Operation, Role } from './roles.js'

/** Everything inside one tenant: what a tenant `admin` holds, and the operator on top of it. */
const tenantOperations: readonly Operation[] = [
  'append',
  'ingest',
  'read',
  'query',
  'subscribe',
  'manageProjections',
  'manageSubscriptions',
  'manageUsersAndKeys',
  'managePolicies',
  'readStats',
  'readAudit',
]

/**
 * THE permission table: the only place that says which role may perform which operation.
 * Every check (NATS permissions handed out by the auth callout, the admin API, the gateway)
 * must derive from it through {@link may} or {@link authorize}; none keeps a list of its own.
 *
 * - `reader` observes: reads, queries, projection topics.
 * - `service` is a machine writer: it writes and reads back what it needs, and manages nothing.
 * - `developer` builds on the tenant's data: a reader and a writer that also manages projections
 *   and subscriptions, but not who has access.
 * - `admin` holds every operation inside its tenant, access (users, keys, policies) and the
 *   tenant's stats and audit included; it cannot create or change tenants.
 * - `operator` is the platform root: it manages tenants and may act on every tenant, data
 *   included. Denying it tenant data would be theatre, not a boundary: it must be able to mint a
 *   tenant's first admin key (`manageUsersAndKeys`), so it could always mint itself one. The
 *   contract says the same (DESIGN.md: "The operator identity may act on every tenant"), and the
 *   bootstrap key is what makes the README tour work in two commands. Its actions are audited.
 */
export const permissions: Readonly<Record<Role, ReadonlySet<Operation>>> = {
  reader: new Set<Operation>(['read', 'query', 'subscribe']),
  service: new Set<Operation>(['append', 'ingest', 'read', 'query']),
  developer: new Set<Operation>(['append', 'ingest', 'read', 'query', 'subscribe', 'manageProjections', 'manageSubscriptions']),
  admin: new Set<Operation>(tenantOperations),
  operator: new Set<Operation>([...tenantOperations, 'manageTenants']),
}

/** Whether `role` may perform `operation` at all (on its own tenant). Total over both closed unions; never throws. */
export const may = (role: Role, operation: Operation): boolean => permissions[role].has(operation)

/**
 * Decides whether `identity` may perform `operation` on `tenant` (omit `tenant` for a
 * platform-wide operation such as listing tenants).
 *
 * Guarantees: a tenant identity is refused anything outside its own tenant, and anything with no
 * tenant, with `Forbidden` (`reason: 'tenant'`), whatever its role; an operation its role lacks is
 * `Forbidden` (`reason: 'role'`). The operator is refused nothing the table does not refuse it.
 * Whether the tenant exists or is active is not checked here (see `admit` in `tenant.ts`).
 */
export const authorize = (identity: Identity, operation: Operation, tenant?: TenantId): E.Either<DomainError, Identity> => {
  if (identity.role !== 'operator' && identity.tenant !== tenant) {
    return E.left(
      forbidden(
        'tenant',
        tenant === undefined
          ? `an identity of tenant ${identity.tenant} may act only inside its own tenant`
          : `an identity of tenant ${identity.tenant} may not act on tenant ${tenant}`,
        { operation },
      ),
    )
  }
  return may(identity.role, operation)
    ? E.right(identity)
    : E.left(forbidden('role', `role ${identity.role} may not ${operation}`, { operation }))
}
