import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type DomainError, badRequest, invalidId } from '../streams/errors.js'
import { TenantId } from '../streams/ids.js'
import { QuotaOverrides, TenantName, Tier } from './tenant.js'

/**
 * The bodies of the tenant admin requests (`allsource.admin.tenants.<command>`, DESIGN.md "Admin
 * API"), validated into commands. Bodies are closed: a field the command does not take is
 * `BadRequest`, so a misspelt `tier` is an error, not a silent no-op. A bad tenant id is
 * `InvalidId` (field `tenant`). Errors name the field and the rule, never echo a long value.
 */

/**
 * Ids that are words of the admin subject space (`allsource.admin.tenants.*`, `allsource.admin.signing-keys.*`,
 * `allsource.admin.projection.*`, `allsource.admin.projections`): a tenant with one of them would
 * share its `allsource.admin.<tenant>.…` subjects with those requests. `create` refuses them.
 */
export const reservedTenantIds: ReadonlySet<string> = new Set(['tenants', 'projection', 'projections', 'signing-keys'])

export const LIST_DEFAULT_LIMIT = 100
export const LIST_MAX_LIMIT = 1000

export type TenantCommand =
  | { readonly _tag: 'Create'; readonly tenant: TenantId; readonly name?: TenantName; readonly tier?: Tier; readonly quotas?: QuotaOverrides }
  | { readonly _tag: 'Get' | 'Suspend' | 'Activate' | 'Delete'; readonly tenant: TenantId }
  | { readonly _tag: 'Update'; readonly tenant: TenantId; readonly tier?: Tier; readonly quotas?: QuotaOverrides }
  | { readonly _tag: 'List'; readonly after?: TenantId; readonly limit: number; readonly includeDeleted: boolean }

export const tenantCommandNames = ['create', 'get', 'list', 'update', 'suspend', 'activate', 'delete'] as const
export type TenantCommandName = (typeof tenantCommandNames)[number]

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

const show = (u: unknown): string => {
  if (typeof u === 'string') return u.length > 40 ? `a string of ${u.length} characters` : JSON.stringify(u)
  if (u === null) return 'null'
  return Array.isArray(u) ? 'an array' : typeof u
}

/** The body as an object with only `allowed` keys; an absent body (`undefined`) is `{}`. */
export const closedBody = (what: string, body: unknown, allowed: readonly string[]): E.Either<DomainError, Record<string, unknown>> => {
  if (body === undefined) return E.right({})
  if (!isRecord(body)) return E.left(badRequest(`${what}: the body must be an object, got ${show(body)}`))
  const extra = Object.keys(body).find((k) => !allowed.includes(k))
  return extra === undefined
    ? E.right(body)
    : E.left(badRequest(`${what}: unknown field ${show(extra)}; it takes ${allowed.join(', ')}`, { field: extra.slice(0, 64) }))
}

const field = <A>(what: string, body: Record<string, unknown>, name: string, codec: t.Decoder<unknown, A>, rule: string): E.Either<DomainError, A | undefined> => {
  const v = body[name]
  if (v === undefined) return E.right(undefined)
  const r = codec.decode(v)
  if (E.isRight(r)) return E.right(r.right)
  return E.left(badRequest(`${what}: ${name} must be ${rule}; got ${show(v)}`, { field: name }))
}

const tenantField = (body: Record<string, unknown>, name = 'tenant', required = true): E.Either<DomainError, TenantId | undefined> => {
  const v = body[name]
  if (v === undefined && !required) return E.right(undefined)
  return TenantId.is(v) ? E.right(v) : E.left(invalidId(name, `${name} must be 1–64 chars of A–Z a–z 0–9 _ -; got ${show(v)}`))
}

const QUOTAS_RULE = 'an object of quotas (eventsPerDay, storedBytes, streams, projections, appendsPerSecond, connections), each a non-negative integer or null'

/**
 * Validates the body of `allsource.admin.tenants.<command>`. An unknown command is `BadRequest`
 * naming the commands there are.
 */
export const validateTenantCommand = (command: string, body: unknown): E.Either<DomainError, TenantCommand> => {
  const what = `tenants.${command.slice(0, 32)}`
  switch (command) {
    case 'create': {
      const b = closedBody(what, body, ['tenant', 'name', 'tier', 'quotas'])
      if (E.isLeft(b)) return b
      const tenant = tenantField(b.right)
      if (E.isLeft(tenant)) return tenant
      if (reservedTenantIds.has(tenant.right as string)) {
        return E.left(invalidId('tenant', `tenant id "${tenant.right}" is reserved (a word of the admin subjects: ${[...reservedTenantIds].join(', ')})`))
      }
      const name = field(what, b.right, 'name', TenantName, '1–200 characters, not only spaces, no control characters')
      if (E.isLeft(name)) return name
      const tier = field(what, b.right, 'tier', Tier, 'free, pro or unlimited')
      if (E.isLeft(tier)) return tier
      const quotas = field(what, b.right, 'quotas', QuotaOverrides, QUOTAS_RULE)
      if (E.isLeft(quotas)) return quotas
      return E.right({
        _tag: 'Create',
        tenant: tenant.right as TenantId,
        ...(name.right !== undefined ? { name: name.right } : {}),
        ...(tier.right !== undefined ? { tier: tier.right } : {}),
        ...(quotas.right !== undefined ? { quotas: quotas.right } : {}),
      })
    }
    case 'get':
    case 'suspend':
    case 'activate':
    case 'delete': {
      const b = closedBody(what, body, ['tenant'])
      if (E.isLeft(b)) return b
      const tenant = tenantField(b.right)
      if (E.isLeft(tenant)) return tenant
      const tag = command === 'get' ? 'Get' : command === 'suspend' ? 'Suspend' : command === 'activate' ? 'Activate' : 'Delete'
      return E.right({ _tag: tag, tenant: tenant.right as TenantId })
    }
    case 'update': {
      const b = closedBody(what, body, ['tenant', 'tier', 'quotas'])
      if (E.isLeft(b)) return b
      const tenant = tenantField(b.right)
      if (E.isLeft(tenant)) return tenant
      const tier = field(what, b.right, 'tier', Tier, 'free, pro or unlimited')
      if (E.isLeft(tier)) return tier
      const quotas = field(what, b.right, 'quotas', QuotaOverrides, QUOTAS_RULE)
      if (E.isLeft(quotas)) return quotas
      return E.right({
        _tag: 'Update',
        tenant: tenant.right as TenantId,
        ...(tier.right !== undefined ? { tier: tier.right } : {}),
        ...(quotas.right !== undefined ? { quotas: quotas.right } : {}),
      })
    }
    case 'list': {
      const b = closedBody(what, body, ['after', 'limit', 'includeDeleted'])
      if (E.isLeft(b)) return b
      const after = tenantField(b.right, 'after', false)
      if (E.isLeft(after)) return after
      const limit = b.right.limit ?? LIST_DEFAULT_LIMIT
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
        return E.left(badRequest(`${what}: limit must be an integer from 1 to ${LIST_MAX_LIMIT}; got ${show(limit)}`, { field: 'limit' }))
      }
      const includeDeleted = b.right.includeDeleted ?? false
      if (typeof includeDeleted !== 'boolean') return E.left(badRequest(`${what}: includeDeleted must be true or false; got ${show(includeDeleted)}`, { field: 'includeDeleted' }))
      return E.right({ _tag: 'List', limit, includeDeleted, ...(after.right !== undefined ? { after: after.right } : {}) })
    }
    default:
      return E.left(badRequest(`unknown tenant command ${show(command)}; the commands are ${tenantCommandNames.join(', ')}`, { commands: tenantCommandNames }))
  }
}
