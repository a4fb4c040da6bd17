import type { AuditEntry } from '../../domain/security/audit.js'
import { type AuditQuery, type AuditScope, auditMatches, inScope } from '../../domain/security/auditQuery.js'
import type { AuditPage } from './ports.js'

/** Default most bytes of entries (as JSON) in one page: well under NATS's 1 MiB payload. */
export const DEFAULT_AUDIT_PAGE_BYTES = 512 * 1024

const encoder = new TextEncoder()

export interface PageCollector {
  /** Offers the entry stored at `position` (ascending). False: the page is complete, stop reading. */
  offer(position: number, entry: AuditEntry): boolean
  /** Counts a stored value that is not a valid entry. */
  skip(): void
  page(): AuditPage
}

/**
 * Builds one page from entries read in store order, the same way for every implementation:
 * entries outside `scope` or not matching `q` are passed over; the page takes at most `q.limit`
 * entries and at most `maxBytes` of them as JSON (the first always fits: an entry is a few KiB
 * at most). Reading stops at the first matching entry that does not fit, so `next` is set exactly
 * when another matching entry exists, and it is the position of the last entry taken.
 */
export const createPageCollector = (scope: AuditScope, q: AuditQuery, maxBytes = DEFAULT_AUDIT_PAGE_BYTES): PageCollector => {
  const entries: AuditEntry[] = []
  let bytes = 0
  let last = 0
  let more = false
  let skipped = 0
  return {
    offer(position, entry) {
      if (!inScope(scope, entry) || !auditMatches(q, entry)) return true
      const size = encoder.encode(JSON.stringify(entry)).length
      if (entries.length >= q.limit || (entries.length > 0 && bytes + size > maxBytes)) {
        more = true
        return false
      }
      entries.push(entry)
      bytes += size
      last = position
      return true
    },
    skip() {
      skipped++
    },
    page: () => ({ entries, ...(more ? { next: last } : {}), ...(skipped > 0 ? { skipped } : {}) }),
  }
}
