import * as E from 'fp-ts/lib/Either.js'
import { createPageCollector, DEFAULT_AUDIT_PAGE_BYTES } from '../../application/audit/auditPage.js'
import { createAuditWriter } from '../../application/audit/auditWriter.js'
import type { AuditLog, AuditWriterOptions } from '../../application/audit/ports.js'
import { AuditEntry } from '../../domain/security/audit.js'
import { systemClock } from '../system/systemClock.js'
import { uuidv7 } from '../system/uuidv7.js'

/** An audit log in memory, for tests and for running without a server. */
export interface InMemoryAuditLog extends AuditLog {
  /** While false, writes fail (and are retried) and queries answer `AuditLogUnavailable`: an outage. */
  setAvailable(up: boolean): void
  /**
   * Stores a raw value at the next position, bypassing the writer and the codec, as if published
   * under the subject of `tenant` (none: the platform's) and `action` (to test corrupt or forged entries).
   */
  putRaw(json: string, tenant?: string, action?: string): void
}

export interface InMemoryAuditLogOptions extends AuditWriterOptions {
  readonly maxPageBytes: number
  readonly newId: () => string
  readonly now: () => Date
}

/**
 * Entries are kept as JSON with their subject's tenant and action, as JetStream keeps them, and
 * decoded on every read (a value that does not decode, or whose own tenant or action differs from
 * its subject's, is skipped and counted), so both implementations answer the same values. A write with an id already stored is stored once (as
 * JetStream's duplicate window does for a retried write). Positions are 1, 2, 3, ….
 */
export const createInMemoryAuditLog = (options: Partial<InMemoryAuditLogOptions> = {}): InMemoryAuditLog => {
  // What JetStream keeps: the subject's tenant and action, and the body.
  const stored: { readonly tenant: string | undefined; readonly action: string; readonly json: string }[] = []
  const ids = new Set<string>()
  let up = true
  const writer = createAuditWriter(
    {
      newId: options.newId ?? uuidv7,
      now: options.now ?? (() => systemClock.now()),
      sink: async (entry) => {
        if (!up) throw new Error('in-memory audit log is down')
        if (ids.has(entry.id)) return
        ids.add(entry.id)
        stored.push({ tenant: entry.tenant, action: entry.action, json: JSON.stringify(entry) })
      },
    },
    options,
  )
  return {
    ...writer,
    query: (scope, q) => async () => {
      if (!up) return E.left({ _tag: 'AuditLogUnavailable', message: 'in-memory audit log is down' })
      const collector = createPageCollector(scope, q, options.maxPageBytes ?? DEFAULT_AUDIT_PAGE_BYTES)
      const end = stored.length
      for (let seq = (q.after ?? 0) + 1; seq <= end; seq++) {
        const raw = stored[seq - 1] as (typeof stored)[number]
        let entry: E.Either<unknown, AuditEntry>
        try {
          entry = AuditEntry.decode(JSON.parse(raw.json))
        } catch (e) {
          entry = E.left(e)
        }
        // A value under another tenant's or action's subject than its own is not trusted.
        if (E.isRight(entry) && (entry.right.tenant !== raw.tenant || entry.right.action !== raw.action)) entry = E.left('subject mismatch')
        if (E.isLeft(entry)) collector.skip()
        else if (!collector.offer(seq, entry.right)) break
      }
      return E.right(collector.page())
    },
    setAvailable(value) {
      up = value
    },
    putRaw(json, tenant, action = 'key.create') {
      stored.push({ tenant, action, json })
    },
  }
}
