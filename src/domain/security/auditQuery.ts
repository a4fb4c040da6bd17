import * as E from 'fp-ts/lib/Either.js'
import { TenantId } from '../streams/ids.js'
import { badRequest, type DomainError, invalidId } from '../streams/errors.js'
import { type AuditAction, type AuditEntry, auditActions, MAX_ACTOR_ID } from './audit.js'
import { looksSecret } from './redaction.js'
import { authorize } from './permissions.js'
import type { Identity } from './roles.js'

/**
 * Reading the audit log: the request (`allsource.admin.<tenant>.audit.query`,
 * `{ tenant?, since?, until?, action?, user?, limit?, after? }`), what an entry must be to match
 * it, and which entries an identity may see at all (its scope).
 */

/** `key.create` selects that action; `key.>` every action whose name starts with `key.` (NATS wildcard semantics). */
export type ActionFilter = { readonly kind: 'exact'; readonly action: AuditAction } | { readonly kind: 'prefix'; readonly prefix: string }

export const defaultAuditLimit = 100
export const maxAuditLimit = 1_000

/** A validated audit query. Every filter is optional; all given ones must match. */
export interface AuditQuery {
  /** The tenant asked about; see {@link auditScopeFor} for what an identity may ask. */
  readonly tenant?: TenantId
  /** Inclusive bounds on the entries' `at`. */
  readonly since?: Date
  readonly until?: Date
  readonly action?: ActionFilter
  /** The actor's id (`who.id`): a keyId, a username, or a component for `system`. */
  readonly user?: string
  /** Most entries in the page, 1–1000 (default 100). */
  readonly limit: number
  /** Resume after this position: the previous page's `next` (exclusive). */
  readonly after?: number
}

/** Which entries a query may reach: one tenant's, the platform's own (no tenant), or all of them. */
export type AuditScope = { readonly _tag: 'Tenant'; readonly tenant: TenantId } | { readonly _tag: 'Platform' } | { readonly _tag: 'All' }

const PREFIX_RE = /^([a-z]+(?:\.[a-z]+)*)\.>$/

/** Parses an action filter: a known action, or `<tokens>.>` that at least one known action starts with. */
export const parseActionFilter = (s: unknown): E.Either<DomainError, ActionFilter> => {
  if (typeof s !== 'string') return E.left(badRequest('action must be a string'))
  if ((auditActions as readonly string[]).includes(s)) return E.right({ kind: 'exact', action: s as AuditAction })
  const m = PREFIX_RE.exec(s)
  if (m !== null && auditActions.some((a) => a.startsWith(`${m[1]}.`))) return E.right({ kind: 'prefix', prefix: m[1] as string })
  return E.left(badRequest(`action must be one of ${auditActions.join(', ')}, or a prefix such as "key.>"`, { action: s.slice(0, 100) }))
}

export const actionMatches = (f: ActionFilter, action: AuditAction): boolean => (f.kind === 'exact' ? action === f.action : action.startsWith(`${f.prefix}.`))

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

const time = (u: unknown, field: string): E.Either<DomainError, Date | undefined> => {
  if (u === undefined || u === null) return E.right(undefined)
  const d = u instanceof Date ? u : typeof u === 'string' || typeof u === 'number' ? new Date(u) : undefined
  return d === undefined || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999
    ? E.left(badRequest(`${field} must be an ISO-8601 time (years 0000–9999) or epoch milliseconds`, { [field]: String(u).slice(0, 100) }))
    : E.right(d)
}

/** Validates an `audit.query` body; the first problem is a `BadRequest` (or `InvalidId` for `tenant`). Changes nothing. */
export const validateAuditQuery = (body: unknown): E.Either<DomainError, AuditQuery> => {
  if (body !== undefined && body !== null && !isRecord(body)) return E.left(badRequest('request body must be an object'))
  const b: Record<string, unknown> = isRecord(body) ? body : {}
  if (b.tenant !== undefined && !TenantId.is(b.tenant)) return E.left(invalidId('tenant', 'tenant must be 1–64 chars of A–Z a–z 0–9 _ -'))
  const since = time(b.since, 'since')
  if (E.isLeft(since)) return since
  const until = time(b.until, 'until')
  if (E.isLeft(until)) return until
  if (since.right !== undefined && until.right !== undefined && since.right > until.right) return E.left(badRequest('since is after until'))
  const action = b.action === undefined ? E.right(undefined) : parseActionFilter(b.action)
  if (E.isLeft(action)) return action
  const user = b.user
  if (user !== undefined && (typeof user !== 'string' || user.length === 0 || user.length > MAX_ACTOR_ID)) {
    return E.left(badRequest(`user must be a string of 1–${MAX_ACTOR_ID} characters`))
  }
  // Entries never hold a credential, so a filter that is one can only leak it into logs.
  if (typeof user === 'string' && looksSecret(user)) return E.left(badRequest('user looks like a credential; filter by keyId or username'))
  const limit = b.limit ?? defaultAuditLimit
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > maxAuditLimit) {
    return E.left(badRequest(`limit must be an integer from 1 to ${maxAuditLimit}`, { limit: String(limit).slice(0, 20) }))
  }
  const after = b.after
  if (after !== undefined && (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0)) {
    return E.left(badRequest('after must be an integer >= 0 (the previous page\'s next)'))
  }
  return E.right({
    limit,
    ...(b.tenant !== undefined ? { tenant: b.tenant as TenantId } : {}),
    ...(since.right !== undefined ? { since: since.right } : {}),
    ...(until.right !== undefined ? { until: until.right } : {}),
    ...(action.right !== undefined ? { action: action.right } : {}),
    ...(typeof user === 'string' ? { user } : {}),
    ...(after !== undefined ? { after: after as number } : {}),
  })
}

/** Whether an entry is inside a scope: the tenant's own entries, the platform's (no tenant), or any. */
export const inScope = (scope: AuditScope, entry: AuditEntry): boolean => {
  switch (scope._tag) {
    case 'All':
      return true
    case 'Platform':
      return entry.tenant === undefined
    case 'Tenant':
      return entry.tenant === scope.tenant
    default: {
      const never: never = scope
      return never
    }
  }
}

/** Whether an entry matches a query's filters (scope and paging aside). Pure. */
export const auditMatches = (q: AuditQuery, e: AuditEntry): boolean => {
  const at = Date.parse(e.at)
  return (
    (q.action === undefined || actionMatches(q.action, e.action)) &&
    (q.user === undefined || e.who.id === q.user) &&
    (q.since === undefined || at >= q.since.getTime()) &&
    (q.until === undefined || at <= q.until.getTime())
  )
}

/**
 * The scope `identity` may read for a query about `tenant` (from the request subject or body).
 * Guarantees: a tenant identity reads only its own tenant's entries: no tenant means its own, any
 * other is `Forbidden` (`reason: 'tenant'`), and a role without `readAudit` is `Forbidden`
 * (`reason: 'role'`). The operator reads one tenant's entries when it names one, else all of
 * them, platform entries included. Platform-only entries are never in a tenant's scope.
 */
export const auditScopeFor = (identity: Identity, tenant?: TenantId): E.Either<DomainError, AuditScope> => {
  const asked = tenant ?? (identity.role === 'operator' ? undefined : identity.tenant)
  return E.map((): AuditScope => (asked === undefined ? { _tag: 'All' } : { _tag: 'Tenant', tenant: asked }))(authorize(identity, 'readAudit', asked))
}
