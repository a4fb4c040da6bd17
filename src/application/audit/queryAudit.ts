import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { AuditDraft } from '../../domain/security/audit.js'
import { type AuditQuery, type AuditScope, auditScopeFor, validateAuditQuery } from '../../domain/security/auditQuery.js'
import type { Identity } from '../../domain/security/roles.js'
import { badRequest, type DomainError } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { AuditLog, AuditLogUnavailable, AuditPage } from './ports.js'

const scopeOf = (identity: Identity, body: unknown, tenant: TenantId | undefined): E.Either<DomainError, { readonly q: AuditQuery; readonly scope: AuditScope }> => {
  const q = validateAuditQuery(body)
  if (E.isLeft(q)) return q
  if (tenant !== undefined && q.right.tenant !== undefined && q.right.tenant !== tenant) return E.left(badRequest('tenant in the body differs from the subject'))
  const scope = auditScopeFor(identity, tenant ?? q.right.tenant)
  return E.isLeft(scope) ? scope : E.right({ q: q.right, scope: scope.right })
}

/**
 * `audit.query` for one identity: validates the body, confines it to what the identity may read
 * (`auditScopeFor`: a tenant identity only its own tenant, the operator any tenant or all), and
 * answers a page. `tenant` is the tenant of the request subject
 * (`allsource.admin.<tenant>.audit.query`); a body `tenant` that differs from it is `BadRequest`.
 * With `who`, the query itself is recorded as `audit.query` (`succeeded`, or `denied` with the
 * error's tag), so reading the log leaves a trace.
 */
export const queryAudit =
  (log: AuditLog) =>
  (identity: Identity, body: unknown, tenant?: TenantId, who?: AuditDraft['who']): TE.TaskEither<DomainError | AuditLogUnavailable, AuditPage> =>
  async () => {
    const asked = scopeOf(identity, body, tenant)
    if (who !== undefined) {
      const about = E.isRight(asked) ? (asked.right.scope._tag === 'Tenant' ? asked.right.scope.tenant : undefined) : (tenant ?? (identity.role === 'operator' ? undefined : identity.tenant))
      log.record({
        who,
        action: 'audit.query',
        outcome: E.isRight(asked) ? 'succeeded' : 'denied',
        ...(about !== undefined ? { tenant: about } : {}),
        ...(E.isLeft(asked) ? { reason: asked.left._tag } : {}),
      })
    }
    if (E.isLeft(asked)) return asked
    return log.query(asked.right.scope, asked.right.q)()
  }
