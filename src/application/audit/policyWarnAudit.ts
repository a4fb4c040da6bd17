import type { AuditDraft } from '../../domain/security/audit.js'
import { whoOfPrincipal } from './refusalAudit.js'
import { createWindowedAuditor } from './windowedAudit.js'

/** An append a policy `warn` rule let through. */
export interface PolicyWarning {
  readonly tenant: string
  /** The rule's id. */
  readonly rule: string
  /** The caller's principal from its reply inbox, when the door knows it (not ingest). */
  readonly principal?: string
  /** `append` or `ingest`. */
  readonly operation: string
  /** The stream appended to (the entry's `target`). */
  readonly stream: string
}

/**
 * Audits appends let through by a policy `warn` rule as `policy.warned` (outcome `allowed`),
 * without letting a busy stream of warned appends flood the audit log: per tenant and rule, the
 * first warning of a `windowMs` window (default 60 s) is recorded at once, with who (from the reply
 * inbox), `target: stream:<id>`, `details.rule`, `details.operation` and `details.warned` = how many
 * warned appends it stands for (itself and those counted since the previous entry of that tenant
 * and rule); the rest of the window is only counted, and carried by the next entry. Memory is
 * bounded by `maxKeys` (default 1,000; the oldest is flushed with its count and forgotten). No timers.
 * Note: a warned append that a quota then refuses is counted too (the rule matched an attempt).
 */
export const createPolicyWarnAuditor = (
  record: (draft: AuditDraft) => void,
  options: { readonly windowMs?: number; readonly maxKeys?: number; readonly now?: () => number } = {},
): ((w: PolicyWarning) => void) => {
  const windowed = createWindowedAuditor(record, 'warned', options)
  return (w) =>
    windowed(`${w.tenant}|${w.rule}`, {
      who: whoOfPrincipal(w.principal, w.tenant),
      tenant: w.tenant,
      action: 'policy.warned',
      outcome: 'allowed',
      target: `stream:${w.stream}`,
      reason: 'warn',
      details: { rule: w.rule, operation: w.operation },
    })
}
