import type { AuditDraft } from '../../domain/security/audit.js'

/**
 * A request a tenant endpoint dropped unanswered: `FOREIGN_REPLY`, its reply subject was outside
 * the tenant's inbox; `BAD_SUBJECT`, its subject named no tenant that parses.
 */
export interface DroppedReport {
  readonly reason: 'FOREIGN_REPLY' | 'BAD_SUBJECT'
  /** The endpoint that dropped it (`append`, `key-admin`, `audit-query`, …). */
  readonly endpoint: string
  /** The subject's tenant; absent when the subject named none that parsed (a platform entry then). */
  readonly tenant?: string
  /** What the reply subject pointed at, reduced to its first tokens (`_INBOX.globex`); untrusted text, redacted by the log. */
  readonly replyRoot?: string
}

export interface DropAuditOptions {
  /** At most one entry per tenant per window. Default 60 s. */
  readonly windowMs: number
  /** Most tenants tracked at once; past it the oldest is flushed (its pending count recorded) and forgotten. Default 1,000. */
  readonly maxTenants: number
  readonly now: () => number
}

export const defaultDropAuditOptions: DropAuditOptions = { windowMs: 60_000, maxTenants: 1_000, now: () => Date.now() }

/**
 * Audits dropped requests (`Endpoint.dropped`) without letting a flood of them flood the log: per
 * tenant, the first drop of a window is recorded at once as `request.denied` (`outcome: denied`,
 * `reason` `FOREIGN_REPLY` or `BAD_SUBJECT` (the latest drop's), `who.kind: anonymous`: the endpoint cannot tell who sent it), and
 * drops inside the window are only counted; the next recorded entry of that tenant carries in
 * `details.dropped` how many drops it stands for (itself and the ones counted since the last
 * entry). Guarantees: at most one entry per tenant per `windowMs` (plus one per eviction); every
 * drop is counted in exactly one entry, except drops counted after a tenant's last entry, which
 * wait for its next drop (or its eviction); memory is bounded by `maxTenants`. No timers.
 */
export const createDropAuditor = (record: (draft: AuditDraft) => void, options: Partial<DropAuditOptions> = {}): ((d: DroppedReport) => void) => {
  const o = { ...defaultDropAuditOptions, ...options }
  type Pending = { last: number; pending: number; reason: DroppedReport['reason']; endpoint: string; replyRoot?: string }
  const tenants = new Map<string, Pending>()

  const emit = (key: string, dropped: number, reason: DroppedReport['reason'], endpoint: string, replyRoot: string | undefined) =>
    record({
      who: { kind: 'anonymous' },
      ...(key !== '' ? { tenant: key } : {}),
      action: 'request.denied',
      outcome: 'denied',
      reason,
      details: { endpoint, dropped, ...(replyRoot !== undefined ? { replyRoot } : {}) },
    })

  return (d) => {
    const key = d.tenant ?? ''
    const now = o.now()
    const state = tenants.get(key)
    if (state !== undefined && now - state.last < o.windowMs) {
      state.pending++
      state.endpoint = d.endpoint
      state.reason = d.reason
      if (d.replyRoot !== undefined) state.replyRoot = d.replyRoot
      return
    }
    emit(key, (state?.pending ?? 0) + 1, d.reason, d.endpoint, d.replyRoot)
    tenants.delete(key)
    if (tenants.size >= o.maxTenants) {
      const [oldest, s] = tenants.entries().next().value as [string, Pending]
      if (s.pending > 0) emit(oldest, s.pending, s.reason, s.endpoint, s.replyRoot)
      tenants.delete(oldest)
    }
    tenants.set(key, { last: now, pending: 0, reason: d.reason, endpoint: d.endpoint })
  }
}
