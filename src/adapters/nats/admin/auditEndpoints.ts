import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { AuditLog } from '../../../application/audit/ports.js'
import { queryAudit } from '../../../application/audit/queryAudit.js'
import type { Identity } from '../../../domain/security/roles.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { badRequest, invalidId } from '../../../domain/streams/errors.js'
import { type DroppedRequest, type Endpoint, type EndpointRoute, startEndpoint } from '../service/endpoint.js'
import { actorFromReply } from './replyActor.js'

export interface AuditEndpointsOptions {
  readonly prefix: string
  /** The admin API's queue group; the audit endpoints use `<queue>-audit`. */
  readonly queue: string
  readonly log: AuditLog
  /** Auth mode: tenant audit queries whose reply is outside `_INBOX.<tenant>.` are dropped unanswered. */
  readonly tenantReplies?: boolean
  readonly onDropped?: (d: DroppedRequest) => void
}

/** Tenant tokens that are other admin endpoints' wildcard subjects (see adminEndpoints.ts): left to them. */
const OTHER_ADMIN_WORDS: ReadonlySet<string> = new Set(['tenants', 'projection'])

/** The audit subjects: `<prefix>.admin.<tenant>.audit.query` (tenant admins, the operator) and `<prefix>.admin.audit.query` (operator only). */
export const auditSubjects = (prefix: string) => ({
  tenantQuery: (tenant: string) => `${prefix}.admin.${tenant}.audit.query`,
  operatorQuery: `${prefix}.admin.audit.query`,
})

/**
 * The audit log's read side on NATS (DESIGN.md "Admin API"), request-reply in JSON or msgpack:
 *
 * - `<prefix>.admin.<tenant>.audit.query`, body `{ since?, until?, action?, user?, limit?, after? }`
 *   or nothing → `{ entries, next?, skipped? }` (`queryAudit`), **always confined to `<tenant>`'s
 *   entries** (the subject's tenant is the scope; a body `tenant` that differs is `BAD_REQUEST`).
 *   NATS lets only that tenant's admins and the operator publish here (`grantFor`); with
 *   `tenantReplies`, a reply outside `_INBOX.<tenant>.` is dropped unanswered. Listens on
 *   `<prefix>.admin.*.audit` and `….audit.>` (an unknown command is `BAD_REQUEST`; a wrong token
 *   count is `INVALID_ID`, or, with `tenantReplies`, dropped: no tenant parses to answer to), in
 *   its own queue group `<queue>-audit`; `tenants` and `projection` as the
 *   tenant token are other endpoints' subjects and left unanswered.
 * - `<prefix>.admin.audit.query` (not in DESIGN.md; operator only: no tenant grant includes it,
 *   and a tenant named `audit` has `<prefix>.admin.audit.audit.query`): the same body with an
 *   optional `tenant` → that tenant's entries, or every entry (platform ones included).
 *
 * Each answered query is itself recorded (`audit.query`, who from the reply inbox:
 * {@link actorFromReply}); a query rejected for its input records nothing. `AuditLogUnavailable`
 * is answered `UNAVAILABLE` (503, `retryAfterMs`).
 */
export const startAuditEndpoints = (nc: NatsConnection, o: AuditEndpointsOptions): Endpoint[] => {
  const query = queryAudit(o.log)
  const head = `${o.prefix}.admin.`
  const subj = auditSubjects(o.prefix)
  const queue = `${o.queue}-audit`

  const tenantRoute: EndpointRoute = {
    announced: `${o.prefix}.admin.*.audit.query`,
    listen: [`${o.prefix}.admin.*.audit`, `${o.prefix}.admin.*.audit.>`],
    tokensOf: (subject) => {
      if (!subject.startsWith(head)) return E.left(invalidId('subject', 'not an audit subject'))
      const [tenant = '', audit, ...rest] = subject.slice(head.length).split('.')
      if (audit !== 'audit') return E.left(invalidId('subject', 'not an audit subject'))
      if (OTHER_ADMIN_WORDS.has(tenant)) return 'ignore'
      const valid = validateTenant(tenant)
      if (E.isLeft(valid)) return valid
      if (rest.length !== 1) return E.left(invalidId('subject', `${subj.tenantQuery('<tenant>')} takes one command token after audit, got ${rest.length}`))
      return E.right([valid.right, rest[0] as string])
    },
  }
  const tenantQuery = startEndpoint(
    nc,
    {
      prefix: o.prefix,
      queue,
      verb: 'admin.audit',
      name: 'audit-query',
      tokens: 2,
      emptyBody: 'allowed',
      route: tenantRoute,
      tenantReplies: o.tenantReplies ?? false,
      ...(o.onDropped !== undefined ? { onDropped: o.onDropped } : {}),
    },
    async (tokens, body, _format, request) => {
      const tenant = validateTenant(tokens[0])
      if (E.isLeft(tenant)) return tenant
      if (tokens[1] !== 'query') return E.left(badRequest('the audit command is query', { command: String(tokens[1]).slice(0, 40) }))
      const who = actorFromReply(request.reply, tenant.right)
      // NATS let the sender publish here: an admin of the tenant or the operator. Either reads exactly this tenant.
      const identity: Identity = who.kind === 'operator' ? { role: 'operator' } : { tenant: tenant.right, role: 'admin' }
      return query(identity, body, tenant.right, who)()
    },
  )

  const operatorRoute: EndpointRoute = {
    announced: subj.operatorQuery,
    listen: [subj.operatorQuery],
    tokensOf: () => E.right([]),
  }
  const operatorQuery = startEndpoint(
    nc,
    { prefix: o.prefix, queue, verb: 'admin.audit.query', name: 'audit-query-all', tokens: 0, emptyBody: 'allowed', route: operatorRoute },
    async (_tokens, body, _format, request) => query({ role: 'operator' }, body, undefined, actorFromReply(request.reply, undefined, true))(),
  )

  return [tenantQuery, operatorQuery]
}
