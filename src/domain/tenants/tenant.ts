import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { TenantId } from '../streams/ids.js'
import { type DomainError, illegalTransition, tenantNotFound, tenantSuspended } from '../streams/errors.js'

/**
 * The tenant record and its lifecycle, as pure values. A tenant is `active`, `suspended` (nothing
 * may be done in it, its data kept) or `deleted` (soft: the record stays, for audit and so the id
 * is not silently reused; to every request it is as if it did not exist). `deleted` is final.
 */

/** A quota: a non-negative safe integer, or `null` for no limit (JSON has no Infinity). */
export const Limit = t.union([
  t.brand(t.number, (n): n is t.Branded<number, { readonly Limit: unique symbol }> => Number.isSafeInteger(n) && n >= 0, 'Limit'),
  t.null,
])
export type Limit = t.TypeOf<typeof Limit>

const quotaProps = {
  /** Events appended or ingested per UTC day. */
  eventsPerDay: Limit,
  /** Bytes the tenant's events may occupy in the log. */
  storedBytes: Limit,
  /** Distinct streams. */
  streams: Limit,
  /** Projections registered. */
  projections: Limit,
  /** Append requests per second (a token bucket's refill rate). */
  appendsPerSecond: Limit,
  /** Concurrent NATS connections. */
  connections: Limit,
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * `codec`, but an object with a key outside `props` is rejected rather than stripped: a misspelt
 * quota (`eventPerDay`) must be an error, not a silently kept old limit.
 */
const closed = <C extends t.Any>(codec: C, props: t.Props, name: string): t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> => {
  const unknownKey = (u: unknown): string | undefined =>
    isRecord(u) ? Object.keys(u).find((k) => !Object.prototype.hasOwnProperty.call(props, k)) : undefined
  return new t.Type(
    name,
    (u): u is t.TypeOf<C> => codec.is(u) && unknownKey(u) === undefined,
    (u, c) => {
      const extra = unknownKey(u)
      return extra === undefined ? codec.validate(u, c) : t.failure(u, c, `unknown quota "${extra}"`)
    },
    (a) => codec.encode(a) as t.OutputOf<C>,
  )
}

/** Every quota of a tenant; all six are always present, and no other key is accepted. */
export const Quotas = closed(t.readonly(t.type(quotaProps)), quotaProps, 'Quotas')
export type Quotas = t.TypeOf<typeof Quotas>

/** Some quotas, to override a tier's or the current ones; no other key is accepted. */
export const QuotaOverrides = closed(t.readonly(t.partial(quotaProps)), quotaProps, 'QuotaOverrides')
export type QuotaOverrides = t.TypeOf<typeof QuotaOverrides>

export const Tier = t.keyof({ free: null, pro: null, unlimited: null }, 'Tier')
export type Tier = t.TypeOf<typeof Tier>

export const TenantStatus = t.keyof({ active: null, suspended: null, deleted: null }, 'TenantStatus')
export type TenantStatus = t.TypeOf<typeof TenantStatus>

const MiB = 1024 * 1024
const GiB = 1024 * MiB

/**
 * The quotas of each tier (documented in docs/security.md). `free` is for trying the product,
 * `pro` for a production workload on one shared server, `unlimited` for the operator's own or
 * dedicated tenants.
 */
export const tierQuotas: Readonly<Record<Tier, Quotas>> = {
  free: {
    eventsPerDay: 10_000,
    storedBytes: 100 * MiB,
    streams: 1_000,
    projections: 5,
    appendsPerSecond: 10,
    connections: 5,
  } as Quotas,
  pro: {
    eventsPerDay: 1_000_000,
    storedBytes: 10 * GiB,
    streams: 100_000,
    projections: 50,
    appendsPerSecond: 500,
    connections: 100,
  } as Quotas,
  unlimited: {
    eventsPerDay: null,
    storedBytes: null,
    streams: null,
    projections: null,
    appendsPerSecond: null,
    connections: null,
  },
}

const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/

// Date.parse rolls 2026-02-30 over to March; a real instant prints back as itself.
const isRealInstant = (s: string): boolean => {
  const ms = Date.parse(s)
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === s.slice(0, 19)
}

/**
 * An ISO-8601 UTC timestamp (`2026-12-04T13:00:00.000Z`) naming a real instant (no 30 February,
 * no 24:00). Kept as a string, so decoding does not transform the record.
 */
export const IsoTimestamp = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly IsoTimestamp: unique symbol }> => ISO_UTC_RE.test(s) && isRealInstant(s),
  'IsoTimestamp',
)
export type IsoTimestamp = t.TypeOf<typeof IsoTimestamp>

const CONTROL_RE = /[\u0000-\u001f\u007f]/

/** A display name: 1–200 characters, not only spaces, no control characters (names end up in logs). */
export const TenantName = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly TenantName: unique symbol }> =>
    s.length <= 200 && s.trim().length > 0 && !CONTROL_RE.test(s),
  'TenantName',
)
export type TenantName = t.TypeOf<typeof TenantName>

/** The tenant record as stored and as the admin API answers it (`{ tenant, status, tier, quotas, createdAt }` plus `name`). */
export const Tenant = t.readonly(
  t.exact(
    t.type({
      tenant: TenantId,
      name: TenantName,
      status: TenantStatus,
      tier: Tier,
      quotas: Quotas,
      createdAt: IsoTimestamp,
    }),
  ),
  'Tenant',
)
export type Tenant = t.TypeOf<typeof Tenant>

/** A new, active tenant. Quotas are the tier's (default `free`), then `quotas` over them; the name defaults to the id. */
export const newTenant = (
  tenant: TenantId,
  createdAt: IsoTimestamp,
  opts: { readonly name?: TenantName; readonly tier?: Tier; readonly quotas?: QuotaOverrides } = {},
): Tenant => {
  const tier = opts.tier ?? 'free'
  return {
    tenant,
    name: opts.name ?? (tenant as string as TenantName),
    status: 'active',
    tier,
    quotas: { ...tierQuotas[tier], ...opts.quotas },
    createdAt,
  }
}

const refuseDeleted = (rec: Tenant, action: string): E.Either<DomainError, Tenant> =>
  E.left(illegalTransition(rec.tenant, rec.status, action, `cannot ${action} tenant ${rec.tenant}: it is deleted`))

/*
 * Transitions. Each is total and returns the new record or why not. Repeating one that is already
 * applied (suspending a suspended tenant) returns the record unchanged, not an error, so a retried
 * admin request is harmless. Only `deleted` refuses: it is final.
 */

/** active → suspended. */
export const suspend = (rec: Tenant): E.Either<DomainError, Tenant> =>
  rec.status === 'deleted' ? refuseDeleted(rec, 'suspend') : E.right(rec.status === 'suspended' ? rec : { ...rec, status: 'suspended' })

/** suspended → active. */
export const activate = (rec: Tenant): E.Either<DomainError, Tenant> =>
  rec.status === 'deleted' ? refuseDeleted(rec, 'activate') : E.right(rec.status === 'active' ? rec : { ...rec, status: 'active' })

/** active | suspended → deleted (soft: the record and its data stay; the id is not reused). */
export const softDelete = (rec: Tenant): E.Either<DomainError, Tenant> =>
  E.right(rec.status === 'deleted' ? rec : { ...rec, status: 'deleted' })

/**
 * Changes the plan: a new `tier` replaces every quota with that tier's, then `quotas` override
 * single ones (so `{ tier: 'pro', quotas: { projections: 200 } }` is pro with more projections).
 * Without `tier`, `quotas` override the current ones. Refused for a deleted tenant.
 */
export const changeQuotas = (
  rec: Tenant,
  change: { readonly tier?: Tier; readonly quotas?: QuotaOverrides },
): E.Either<DomainError, Tenant> => {
  if (rec.status === 'deleted') return refuseDeleted(rec, 'change the quotas of')
  const tier = change.tier ?? rec.tier
  const base = change.tier === undefined ? rec.quotas : tierQuotas[tier]
  return E.right({ ...rec, tier, quotas: { ...base, ...change.quotas } })
}

/**
 * Whether a request may run in `tenant`, given its record (`undefined` when none is stored):
 * unknown or deleted is `TenantNotFound`, suspended is `TenantSuspended`. Meant for every request
 * on a tenant's data and admin subjects, whoever sends it; the tenant lifecycle requests
 * (`manageTenants`) do not pass through it, so a suspended tenant can still be activated.
 */
export const admit = (tenant: TenantId, record: Tenant | undefined): E.Either<DomainError, Tenant> => {
  if (record === undefined || record.status === 'deleted') return E.left(tenantNotFound(tenant))
  return record.status === 'suspended' ? E.left(tenantSuspended(tenant)) : E.right(record)
}
