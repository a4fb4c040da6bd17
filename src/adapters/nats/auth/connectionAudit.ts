import type { AuditDraft } from '../../../domain/security/audit.js'
import { parsePrincipal } from '../../../domain/security/principal.js'
import type { CalloutDecision } from './authCallout.js'

/**
 * The audit entry of one auth callout decision (issue 11 item 8: logins and failed logins of NATS
 * connections). Pure. Never holds the credential: a {@link CalloutDecision} has none to give.
 *
 * - granted → `auth.connect`, `allowed`; `who` = the key (`id` = keyId, its tenant and role) or
 *   the user (`id` = username, from its principal `u_<name>`; a password or access-token login) in
 *   that tenant's scope, or the operator (`id` = its keyId) as a platform entry; a connection made
 *   with an invitation token has `details.scope: "invitation"` (its grant is accept-invite only);
 * - refused → `auth.connect.refused`, `denied` (`failed` when the refusal is the callout's own
 *   trouble: `UNAVAILABLE`, `INTERNAL`), `reason` = the wire code, `who` anonymous; in the
 *   tenant's scope when the refusal is about a verified key's tenant (`TENANT_SUSPENDED`,
 *   `TENANT_NOT_FOUND`), else a platform entry (a bad token names no one trustworthy);
 * - refused `QUOTA_EXCEEDED` (the `connections` quota): `details` also hold `quota` and `limit`;
 *   refused by the login rate limit (`loginFailures`, `tenantLoginFailures`): `auth.connect.throttled`
 *   (a platform entry: the tenant and username are the client's unverified claim);
 * - `details`: the client's host and connection name as the server reported them (client-chosen
 *   text: the log redacts anything credential-shaped).
 */
/** The quotas of the login rate limits (`createLoginThrottle`): a refusal for one of them is `auth.connect.throttled`. */
const LOGIN_QUOTAS: ReadonlySet<string> = new Set(['loginFailures', 'tenantLoginFailures'])

export const connectionAudit = (d: CalloutDecision): AuditDraft => {
  const details = { ...(d.client.host !== undefined ? { host: d.client.host } : {}), ...(d.client.name !== undefined ? { clientName: d.client.name } : {}) }
  if (d.outcome === 'granted' && d.identity !== undefined) {
    const identity = d.identity
    const user = parsePrincipal(d.principal)
    const actor = user?.kind === 'user' ? { kind: 'user' as const, id: user.username } : { kind: 'key' as const, ...(d.principal !== undefined ? { id: d.principal } : {}) }
    return identity.role === 'operator'
      ? { who: { kind: 'operator', ...(d.principal !== undefined ? { id: d.principal } : {}) }, action: 'auth.connect', outcome: 'allowed', details }
      : {
          who: { ...actor, tenant: identity.tenant, role: identity.role },
          tenant: identity.tenant,
          action: 'auth.connect',
          outcome: 'allowed',
          details: d.scope !== undefined ? { ...details, scope: d.scope } : details,
        }
  }
  return {
    who: { kind: 'anonymous' },
    ...(d.tenant !== undefined ? { tenant: d.tenant } : {}),
    action: d.code === 'QUOTA_EXCEEDED' && d.quota !== undefined && LOGIN_QUOTAS.has(d.quota.name) ? 'auth.connect.throttled' : 'auth.connect.refused',
    outcome: d.code === 'UNAVAILABLE' || d.code === 'INTERNAL' ? 'failed' : 'denied',
    reason: d.code ?? 'UNAUTHORIZED',
    details: d.quota !== undefined ? { ...details, quota: d.quota.name, limit: d.quota.limit } : details,
  }
}
