import type { AuditDraft } from '../../domain/security/audit.js'

/**
 * Records at most one audit entry per key a window: the first draft of a key in a `windowMs`
 * window (default 60 s) is recorded at once with `details[countField]` = how many drafts it stands
 * for (itself and those counted since the key's previous entry); the rest of the window is only
 * counted and carried by the key's next entry. Memory is bounded by `maxKeys` (default 1,000; the
 * oldest key is flushed with its pending count and forgotten). No timers.
 */
export const createWindowedAuditor = (
  record: (draft: AuditDraft) => void,
  countField: string,
  options: { readonly windowMs?: number; readonly maxKeys?: number; readonly now?: () => number } = {},
): ((key: string, draft: AuditDraft) => void) => {
  const windowMs = options.windowMs ?? 60_000
  const maxKeys = options.maxKeys ?? 1_000
  const now = options.now ?? (() => Date.now())
  type State = { last: number; pending: number; draft: AuditDraft }
  const seen = new Map<string, State>()
  const emit = (draft: AuditDraft, n: number): void => record({ ...draft, details: { ...(draft.details ?? {}), [countField]: n } })

  return (key, draft) => {
    const t = now()
    const state = seen.get(key)
    if (state !== undefined && t - state.last < windowMs) {
      state.pending++
      state.draft = draft
      return
    }
    emit(draft, (state?.pending ?? 0) + 1)
    seen.delete(key)
    if (seen.size >= maxKeys) {
      const [oldest, s] = seen.entries().next().value as [string, State]
      if (s.pending > 0) emit(s.draft, s.pending)
      seen.delete(oldest)
    }
    seen.set(key, { last: t, pending: 0, draft })
  }
}
