import * as E from 'fp-ts/lib/Either.js'
import { type AuditDraft, type AuditEntry, toAuditEntry } from '../../domain/security/audit.js'
import { type AuditLog, type AuditWriterOptions, type AuditWriterStats, defaultAuditWriterOptions, type DropReason, type RecordOutcome } from './ports.js'

/** Stores one entry; rejects when the store did not take it (the writer then retries). */
export type AuditSink = (entry: AuditEntry) => Promise<void>

export interface AuditWriterDeps {
  readonly sink: AuditSink
  /** A fresh entry id (UUIDv7 in production). */
  readonly newId: () => string
  readonly now: () => Date
}

/** The write half of an {@link AuditLog}: what every implementation shares. */
export type AuditWriter = Pick<AuditLog, 'record' | 'flush' | 'stats' | 'close'>

const safely = (f: () => void) => {
  try {
    f()
  } catch {
    // A throwing callback must not break the write path it reports on.
  }
}

/**
 * The bounded, retrying write path of the audit log (see the guarantees on {@link AuditLog}).
 * One background loop writes the queue's head, up to `batch` entries at once; failed entries stay
 * at the head, in order, and are retried after a backoff. `record` only redacts and queues.
 */
export const createAuditWriter = (deps: AuditWriterDeps, options: Partial<AuditWriterOptions> = {}): AuditWriter => {
  const o: AuditWriterOptions = { ...defaultAuditWriterOptions, ...options }
  let queue: AuditEntry[] = []
  let written = 0
  let failedAttempts = 0
  let dropped = 0
  let lastError: string | undefined
  let running = false
  let closed = false
  let stopped = false
  let wake: (() => void) | undefined
  const waiters = new Set<() => void>()

  const drop = (entry: AuditEntry | undefined, reason: DropReason) => {
    dropped++
    safely(() => o.onDropped?.(entry, reason))
  }
  const notify = () => {
    for (const w of [...waiters]) w()
  }
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined
        resolve()
      }, ms)
      ;(timer as { unref?: () => void }).unref?.()
      wake = () => {
        clearTimeout(timer)
        wake = undefined
        resolve()
      }
    })

  const loop = async () => {
    let backoff = o.retryMinMs
    let consecutive = 0
    while (queue.length > 0 && !stopped) {
      const batch = queue.slice(0, o.batch)
      const results = await Promise.allSettled(batch.map((e) => deps.sink(e)))
      // Closed while writing: `close` has already given up (and reported) everything queued.
      if (stopped) break
      const failed: AuditEntry[] = []
      let error: unknown
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') written++
        else {
          failed.push(batch[i] as AuditEntry)
          error = r.reason
        }
      })
      queue = [...failed, ...queue.slice(batch.length)]
      if (failed.length === 0) {
        backoff = o.retryMinMs
        consecutive = 0
        lastError = undefined
        notify()
        continue
      }
      failedAttempts += failed.length
      consecutive++
      lastError = error instanceof Error ? error.message : String(error)
      safely(() => o.onWriteError?.(error, consecutive))
      notify()
      await pause(backoff)
      backoff = Math.min(backoff * 2, o.retryMaxMs)
    }
    running = false
    notify()
  }
  const kick = () => {
    if (running || stopped) return
    running = true
    loop().catch(() => {
      // The loop settles every write; this only guards against a defect in it.
      running = false
    })
  }

  const flush = (timeoutMs = 30_000): Promise<boolean> =>
    new Promise((resolve) => {
      if (queue.length === 0) return resolve(true)
      const check = () => {
        if (queue.length > 0) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(true)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        resolve(queue.length === 0)
      }, timeoutMs)
      ;(timer as { unref?: () => void }).unref?.()
      waiters.add(check)
    })

  return {
    record(draft: AuditDraft): RecordOutcome {
      let entry: E.Either<string, AuditEntry>
      try {
        entry = toAuditEntry(draft, { id: deps.newId(), at: deps.now() })
      } catch {
        entry = E.left('defect')
      }
      if (E.isLeft(entry)) {
        drop(undefined, 'invalid')
        return { accepted: false, reason: 'invalid' }
      }
      if (closed) {
        drop(entry.right, 'closed')
        return { accepted: false, reason: 'closed' }
      }
      if (queue.length >= o.capacity) {
        drop(entry.right, 'full')
        return { accepted: false, reason: 'full' }
      }
      queue.push(entry.right)
      kick()
      return { accepted: true, id: entry.right.id }
    },
    flush,
    stats: (): AuditWriterStats => ({ pending: queue.length, written, failedAttempts, dropped, ...(lastError !== undefined ? { lastError } : {}) }),
    async close(timeoutMs = 5_000) {
      closed = true
      await flush(timeoutMs)
      stopped = true
      wake?.()
      const left = queue
      queue = []
      for (const e of left) drop(e, 'closed')
      notify()
    },
  }
}
