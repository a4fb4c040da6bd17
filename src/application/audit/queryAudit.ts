import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { AuditDraft } from '../../domain/security/audit.js'
import { type AuditQuery, type AuditScope, auditScopeFor, validateAuditQuery } from '../../domain/security/auditQuery.js'
import type { Identity } from '../../domain/security/roles.js'
import { badRequest, type DomainError } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { AuditLog, AuditLogUnavailable, AuditPage } from './ports.js'

type Asked = E.Either<{ readonly rejected: boolean; readonly error: DomainError }, { readonly q: AuditQuery; readonly scope: AuditScope }>

/** The validated query and the scope it may read; `rejected`: the input itself was bad (nothing was decided). */
const scopeOf = (identity: Identity, body: unknown, tenant: TenantId | undefined): Asked => {
  const q = validateAuditQuery(body)
  if (E.isLeft(q)) return E.left({ rejected: true, error: q.left })
  if (tenant !== undefined && q.right.tenant !== undefined && q.right.tenant !== tenant) return E.left({ rejected: true, error: badRequest('tenant in the body differs from the subject') })
  const scope = auditScopeFor(identity, tenant ?? q.right.tenant)
  return E.isLeft(scope) ? E.left({ rejected: false, error: scope.left }) : E.right({ q: q.right, scope: scope.right })
}

/**
 * `audit.query` for one identity: validates the body, confines it to what the identity may read
 * (`auditScopeFor`: a tenant identity only its own tenant, the operator any tenant or all), and
 * answers a page. `tenant` is the tenant of the request subject
 * (`allsource.admin.<tenant>.audit.query`); a body `tenant` that differs from it is `BadRequest`.
 * With `who`, the query itself is recorded as `audit.query` (`succeeded`, or `denied` with the
 * error's tag when the scope is refused), so reading the log leaves a trace; a request refused
 * for its input alone (`BadRequest`, `InvalidId`: nothing was decided) records nothing.
 */
export const queryAudit =
  (log: AuditLog) =>
  (identity: Identity, body: unknown, tenant?: TenantId, who?: AuditDraft['who']): TE.TaskEither<DomainError | AuditLogUnavailable, AuditPage> =>
  async () => {
    const asked = scopeOf(identity, body, tenant)
    if (E.isLeft(asked) && asked.left.rejected) return E.left(asked.left.error)
    if (who !== undefined) {
      const about = E.isRight(asked) ? (asked.right.scope._tag === 'Tenant' ? asked.right.scope.tenant : undefined) : (tenant ?? (identity.role === 'operator' ? undefined : identity.tenant))
      log.record({
        who,
        action: 'audit.query',
        outcome: E.isRight(asked) ? 'succeeded' : 'denied',
        ...(about !== undefined ? { tenant: about } : {}),
        ...(E.isLeft(asked) ? { reason: asked.left.error._tag } : {}),
      })
    }
    if (E.isLeft(asked)) return E.left(asked.left.error)
    return log.query(asked.right.scope, asked.right.q)()
  }
