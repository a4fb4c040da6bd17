import * as t from 'io-ts'
import { TenantId } from '../streams/ids.js'

/**
 * Roles, operations and identities of the security model (DESIGN.md, "Security"). Closed unions:
 * a value outside them does not decode, so an unknown role or operation can never be granted by
 * accident. What each role may do lives in one table, `permissions.ts`.
 */

/** The roles an identity of a tenant can hold. */
export const TenantRole = t.keyof({ admin: null, developer: null, reader: null, service: null }, 'TenantRole')
export type TenantRole = t.TypeOf<typeof TenantRole>

/** Every role: the tenant roles plus the platform `operator`, who manages tenants. */
export const Role = t.keyof({ admin: null, developer: null, reader: null, service: null, operator: null }, 'Role')
export type Role = t.TypeOf<typeof Role>

/**
 * What an identity can ask for. Each request of the product is exactly one operation:
 * - `append` — `allsource.append.<t>.<stream>`;
 * - `ingest` — publishing to `allsource.ingest.<t>.<stream>`;
 * - `read` — `allsource.read.<t>.<stream>`, projection reads `allsource.projection.<t>.<p>`, and
 *   replay with an ordered consumer filtered to `allsource.events.<t>.>`;
 * - `query` — `allsource.query.<t>` (and analytics over the tenant's events);
 * - `subscribe` — the projection topics `allsource.projections.<t>.>`;
 * - `manageProjections` — registering, rebuilding and deleting projections;
 * - `manageSubscriptions` — durable named subscriptions: create, reset, delete;
 * - `manageUsersAndKeys` — `allsource.admin.<t>.users.*` and `allsource.admin.<t>.keys.*`;
 * - `managePolicies` — `allsource.admin.<t>.policies.*` (DESIGN.md's admin API; the list
 *   has no name for it, and leaving it out would leave those requests ungated by the table);
 * - `readStats` — `allsource.admin.<t>.stats` (likewise);
 * - `readAudit` — `allsource.admin.<t>.audit.query`;
 * - `manageTenants` — `allsource.admin.tenants.*` (platform-wide).
 */
export const Operation = t.keyof(
  {
    append: null,
    ingest: null,
    read: null,
    query: null,
    subscribe: null,
    manageProjections: null,
    manageSubscriptions: null,
    manageUsersAndKeys: null,
    managePolicies: null,
    readStats: null,
    readAudit: null,
    manageTenants: null,
  },
  'Operation',
)
export type Operation = t.TypeOf<typeof Operation>

/** Every role, in a fixed order (least to most privileged, operator last). */
export const roles: readonly Role[] = ['reader', 'service', 'developer', 'admin', 'operator']

/** Every operation, in the order of {@link Operation}. */
export const operations = Object.keys(Operation.keys) as readonly Operation[]

/** An identity that belongs to one tenant and holds one tenant role (an API key or a user). */
export const TenantIdentity = t.readonly(t.type({ tenant: TenantId, role: TenantRole }), 'TenantIdentity')
export type TenantIdentity = t.TypeOf<typeof TenantIdentity>

/** The platform operator: belongs to no tenant. */
export const OperatorIdentity = t.readonly(t.type({ role: t.literal('operator') }), 'OperatorIdentity')
export type OperatorIdentity = t.TypeOf<typeof OperatorIdentity>

/** Who is asking, as the authentication layer established it. Tell the two apart by `role`. */
export const Identity = t.union([OperatorIdentity, TenantIdentity], 'Identity')
export type Identity = t.TypeOf<typeof Identity>
