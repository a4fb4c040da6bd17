import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { createPageCollector, DEFAULT_AUDIT_PAGE_BYTES } from '../../../application/audit/auditPage.js'
import { createAuditWriter } from '../../../application/audit/auditWriter.js'
import { type AuditLog, type AuditLogUnavailable, type AuditWriterOptions, defaultAuditWriterOptions } from '../../../application/audit/ports.js'
import { AuditEntry } from '../../../domain/security/audit.js'
import type { AuditQuery, AuditScope } from '../../../domain/security/auditQuery.js'
import { systemClock } from '../../system/systemClock.js'
import { uuidv7 } from '../../system/uuidv7.js'
import { ConsumerUnavailable, createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'
import { subjects } from '../subjects.js'
import { type AuditStreamOptions, defaultAuditStreamOptions, ensureAuditStream } from './auditStream.js'

export interface JetStreamAuditLogOptions extends AuditStreamOptions, AuditWriterOptions {
  /** The consumer budget queries take their one short-lived consumer from. Default: its own, of 2. */
  readonly consumers?: LogConsumers
  /** How long one write waits for its ack before it counts as failed (and is retried). Default 5 s. */
  readonly publishTimeoutMs: number
  /** Most bytes of entries (as JSON) in one page. Default 512 KiB. */
  readonly maxPageBytes: number
  /**
   * How far an entry's store time may differ from its `at` (clock skew between the recording
   * process and the server, and time spent in the write buffer): a query with `since` starts
   * reading this much earlier, one with `until` stops reading this much later. Default 5 minutes.
   */
  readonly timeSlackMs: number
  readonly newId?: () => string
  readonly now?: () => Date
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

const unavailable = (e: unknown): AuditLogUnavailable =>
  e instanceof ConsumerUnavailable
    ? { _tag: 'AuditLogUnavailable', message: e.message, retryAfterMs: e.retryAfterMs }
    : { _tag: 'AuditLogUnavailable', message: `audit log unavailable: ${e instanceof Error ? e.message : String(e)}` }

/**
 * The audit log in the JetStream stream `ALLSOURCE_AUDIT` (created or adjusted here, see
 * `ensureAuditStream`). One message per entry: subject `allsource.audit.tenant.<t>.<action…>`
 * (or `allsource.audit.platform.<action…>`), body the entry as UTF-8 JSON, `Nats-Msg-Id` the
 * entry id (a retried write inside the duplicate window is stored once).
 *
 * Queries turn scope and action into subject filters, a `since` into the consumer's start time
 * (minus `timeSlackMs`), and stop at the stream's last sequence when the query began, or at the
 * first entry stored more than `timeSlackMs` after `until`. `after` is a stream sequence. Each
 * query reads through one ordered consumer from `consumers` (byte-capped pulls), deleted when the
 * page is done, however it ends. Values that are not valid entries, or whose subject does not
 * match their own tenant and action, are skipped and counted in `skipped`.
 *
 * Limit: an entry held in the write buffer for longer than `timeSlackMs` (a store outage) is
 * stored with its original `at` and may be missing from a query whose `until` it precedes by
 * less than the outage; a query without `until` finds it.
 */
export const createJetStreamAuditLog = async (nc: NatsConnection, options: Partial<JetStreamAuditLogOptions> = {}): Promise<AuditLog> => {
  const o = { ...defaultAuditStreamOptions, ...defaultAuditWriterOptions, publishTimeoutMs: 5_000, maxPageBytes: DEFAULT_AUDIT_PAGE_BYTES, timeSlackMs: 300_000, ...options }
  const jsm = await jetstreamManager(nc)
  await ensureAuditStream(jsm, o)
  const js = jetstream(nc)
  const subj = subjects(o.prefix)
  const consumers = o.consumers ?? createLogConsumers(nc, { max: 2 })

  const writer = createAuditWriter(
    {
      newId: o.newId ?? uuidv7,
      now: o.now ?? (() => systemClock.now()),
      sink: async (entry) => {
        const h = headers()
        h.set('Content-Type', 'application/json')
        await js.publish(subj.audit(entry.tenant, entry.action), encoder.encode(JSON.stringify(entry)), {
          msgID: entry.id,
          timeout: o.publishTimeoutMs,
          headers: h,
          expect: { streamName: o.stream },
        })
      },
    },
    o,
  )

  const scopeFilter = (scope: AuditScope) => (scope._tag === 'All' ? 'all' : scope._tag === 'Platform' ? 'platform' : { tenant: scope.tenant })

  const decode = (subject: string, data: Uint8Array): AuditEntry | undefined => {
    try {
      const r = AuditEntry.decode(JSON.parse(decoder.decode(data)))
      return E.isRight(r) && subj.audit(r.right.tenant, r.right.action) === subject ? r.right : undefined
    } catch {
      return undefined
    }
  }

  const query = async (scope: AuditScope, q: AuditQuery): Promise<E.Either<AuditLogUnavailable, ReturnType<ReturnType<typeof createPageCollector>['page']>>> => {
    const collector = createPageCollector(scope, q, o.maxPageBytes)
    try {
      const end = (await jsm.streams.info(o.stream)).state.last_seq
      const start = (q.after ?? 0) + 1
      if (start > end) return E.right(collector.page())
      const action = q.action === undefined ? '>' : q.action.kind === 'exact' ? q.action.action : `${q.action.prefix}.>`
      const lease = await consumers.open(o.stream, {
        filter_subjects: [...subj.auditFilters(scopeFilter(scope), action)],
        ...(q.after === undefined && q.since !== undefined
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Math.max(0, q.since.getTime() - o.timeSlackMs)).toISOString() }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
      })
      try {
        if ((await lease.consumer.info(true)).num_pending === 0) return E.right(collector.page())
        for await (const m of await lease.consume()) {
          if (m.seq > end) break
          if (q.until !== undefined && m.info.timestampNanos / 1e6 > q.until.getTime() + o.timeSlackMs) break
          const entry = decode(m.subject, m.data)
          if (entry === undefined) collector.skip()
          else if (!collector.offer(m.seq, entry)) break
          if (m.seq >= end || m.info.pending === 0) break
        }
      } finally {
        lease.close()
      }
      return E.right(collector.page())
    } catch (e) {
      return E.left(unavailable(e))
    }
  }

  return { ...writer, query: (scope, q) => () => query(scope, q) }
}
