import type { AuditDraft } from '../../domain/security/audit.js'
import { parsePrincipal } from '../../domain/security/principal.js'
import type { AppendError } from '../streams/errors.js'

/** A data request the service refused for a control-plane reason (policy, quota, tenant state). */
export interface RefusalReport {
  readonly tenant: string
  /** The caller's principal from its reply inbox (a keyId, `u_<user>`, `_op`), when the door knows it (not ingest). */
  readonly principal?: string
  /** `append` or `ingest`. */
  readonly operation: string
  readonly error: AppendError
}

/** The refusals worth an audit entry: what the control plane decided, not a client's mistake or an outage. */
const auditedCode = (e: AppendError): string | undefined => {
  switch (e._tag) {
    case 'Forbidden':
      return 'FORBIDDEN'
    case 'QuotaExceeded':
      return 'QUOTA_EXCEEDED'
    case 'TenantSuspended':
      return 'TENANT_SUSPENDED'
    case 'TenantNotFound':
      return 'TENANT_NOT_FOUND'
    default:
      return undefined
  }
}

/** Who a reply principal (a keyId, `u_<user>`, `_op`) of `tenant` is, for an audit entry; anything else is anonymous. */
export const whoOfPrincipal = (principal: string | undefined, tenant: string): AuditDraft['who'] => {
  const p = parsePrincipal(principal)
  if (p === undefined) return { kind: 'anonymous' }
  switch (p.kind) {
    case 'operator':
      return { kind: 'operator' }
    case 'key':
      return { kind: 'key', id: p.keyId, tenant }
    case 'user':
      return { kind: 'user', id: p.username, tenant }
    default: {
      const never: never = p
      return never
    }
  }
}

/**
 * Audits the data path's control-plane refusals (a policy deny, a quota, a suspended or unknown
 * tenant) as `request.denied`, without letting a flood of them flood the audit log: per tenant
 * and refusal code, the first refusal of a `windowMs` window (default 60 s) is recorded at once,
 * with who (from the reply inbox), the rule or quota, and `details.refused` = how many refusals it
 * stands for (itself and those counted since the previous entry of that tenant and code); the
 * rest of the window is only counted. Other errors (bad input, conflicts, outages) are not audited
 * here. Memory is bounded by `maxKeys` (default 1,000; the oldest is flushed and forgotten). No timers.
 */
export const createRefusalAuditor = (
  record: (draft: AuditDraft) => void,
  options: { readonly windowMs?: number; readonly maxKeys?: number; readonly now?: () => number } = {},
): ((r: RefusalReport) => void) => {
  const windowMs = options.windowMs ?? 60_000
  const maxKeys = options.maxKeys ?? 1_000
  const now = options.now ?? (() => Date.now())
  type State = { last: number; pending: number; report: RefusalReport; code: string }
  const seen = new Map<string, State>()

  const emit = (report: RefusalReport, code: string, refused: number): void => {
    const e = report.error
    record({
      who: whoOfPrincipal(report.principal, report.tenant),
      tenant: report.tenant,
      action: 'request.denied',
      outcome: 'denied',
      reason: code,
      details: {
        operation: report.operation,
        refused,
        ...(e._tag === 'Forbidden' && e.rule !== undefined ? { rule: e.rule } : {}),
        ...(e._tag === 'QuotaExceeded' ? { quota: e.quota, limit: e.limit } : {}),
      },
    })
  }

  return (report) => {
    const code = auditedCode(report.error)
    if (code === undefined) return
    const key = `${report.tenant}|${code}`
    const t = now()
    const state = seen.get(key)
    if (state !== undefined && t - state.last < windowMs) {
      state.pending++
      state.report = report
      return
    }
    emit(report, code, (state?.pending ?? 0) + 1)
    seen.delete(key)
    if (seen.size >= maxKeys) {
      const [oldest, s] = seen.entries().next().value as [string, State]
      if (s.pending > 0) emit(s.report, s.code, s.pending)
      seen.delete(oldest)
    }
    seen.set(key, { last: t, pending: 0, report, code })
  }
}
