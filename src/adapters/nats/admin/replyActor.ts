import type { AuditDraft } from '../../../domain/security/audit.js'
import { parsePrincipal } from '../../../domain/security/principal.js'

/** The reply-inbox word the operator's client uses for a tenant's subjects: `_INBOX.<tenant>._op.<nuid>`. */
export const OPERATOR_TENANT_INBOX_WORD = '_op'
/** The operator connection's own inbox root: `_INBOX._operator.<keyId>.` (`grantFor`). */
export const OPERATOR_INBOX_WORD = '_operator'

const PRINCIPAL_RE = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Who an admin request's reply goes to, as the audit log's `who` (issue 11 item 8). The endpoint
 * cannot see the caller's connection, only the reply subject, and NATS lets only one principal
 * read each inbox (`grantFor`: `_INBOX.<tenant>.<principal>.>` for a tenant identity,
 * `_INBOX._operator.<keyId>.` and everything else for the operator):
 * - `_INBOX.<tenant>._op.…` → the operator (acting on that tenant);
 * - `_INBOX._operator.<keyId>.…` → the operator, `id` = its keyId;
 * - `_INBOX.<tenant>.u_<name>.…` (`tenant` = the subject's tenant) → `user`, `id` = the username
 *   (`u_ann~lee` → `ann.lee`, `parsePrincipal`), `tenant` = that tenant;
 * - `_INBOX.<tenant>.<principal>.…` (`tenant` = the subject's tenant) → `key`, `id` = the principal
 *   (a keyId), `tenant` = that tenant;
 * - anything else → `anonymous`.
 *
 * Limit (documented in docs/security.md "Audit log"): a reply subject is chosen by the sender, not
 * proven. It names who can read the answer; a sender may name another principal's inbox (it then
 * never sees the answer). So the actor is certain only up to "someone NATS lets publish on this
 * subject": for a tenant's admin subjects, an admin of that tenant or the operator; for the
 * operator-only subjects, the operator. `details.actorFrom: 'reply'` marks entries whose `who`
 * was derived this way. `operatorOnly`: the subject is one only the operator may publish on, so
 * the actor is the operator whatever the reply says.
 */
export const actorFromReply = (reply: string | undefined, tenant: string | undefined, operatorOnly = false): AuditDraft['who'] => {
  const tokens = reply?.split('.') ?? []
  const inbox = tokens[0] === '_INBOX' && tokens.length >= 3
  const first = tokens[1] ?? ''
  const second = tokens[2] ?? ''
  if (inbox && first === OPERATOR_INBOX_WORD && PRINCIPAL_RE.test(second)) return { kind: 'operator', id: second }
  if (operatorOnly || (inbox && second === OPERATOR_TENANT_INBOX_WORD)) return { kind: 'operator' }
  if (inbox && tenant !== undefined && first === tenant) {
    const p = parsePrincipal(second)
    if (p?.kind === 'user') return { kind: 'user', id: p.username, tenant }
    if (PRINCIPAL_RE.test(second)) return { kind: 'key', id: second, tenant }
  }
  return { kind: 'anonymous' }
}

/** The first two tokens of a reply subject (`_INBOX.globex`), each cut to 64 characters: enough to see where a dropped request aimed, never a whole subject. */
export const replyRootOf = (reply: string | undefined): string | undefined =>
  reply === undefined
    ? undefined
    : reply
        .split('.')
        .slice(0, 2)
        .map((t) => t.slice(0, 64))
        .join('.')
