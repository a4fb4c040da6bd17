import { EVENT_STREAM } from '../log/eventStream.js'
import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { queryFilter, type QueryRequest } from '../../../domain/reading/queryRequest.js'
import { admitsTypes, planScan } from '../../../domain/reading/queryPlan.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import * as E from 'fp-ts/lib/Either.js'
import type { DomainError } from '../../../domain/streams/errors.js'
import { fits, type PageBudget, tooLargeCommit } from '../../../application/reading/readStream.js'
import type { EventIdIndex } from './eventIdIndex.js'
import { createTimeWindowLookup, type FoundCommit } from './idLookup.js'
import type { IdWindow } from '../../../domain/reading/idWindow.js'
import type { ReplayedEvent } from './replay.js'
import { createLogConsumers, type LogConsumers } from './logConsumer.js'
import { defaultPrefix, subjects } from '../subjects.js'

/** One page of a query: whole commits, in offset order. */
export interface QueryPage {
  readonly events: readonly ReplayedEvent[]
  /** Where the next page starts, when this one stopped before the end. */
  readonly nextOffset?: number
}

/**
 * How far a commit's store time may trail its events' timestamps: an actor stamps events before
 * publishing, and a publish is retried for at most ~15 s; a scan for `until` stops this far past it.
 */
const CLOCK_SLACK_MS = 60_000

/** Commits one query request may examine before it answers the page so far (docs/querying.md). */
export const defaultScanBudget = 20_000

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Runs a query over one tenant's log using what JetStream offers, as planned from the request
 * and its `where` (`planScan`): a subject filter for the tenant or the streams the filter
 * names (up to 16), a start at an offset or (for a time lower bound alone) a time, the `AllSource-Types`
 * header to skip commits that cannot match without decoding them, an end at an offset or time
 * upper bound; then the filter on each decoded event. An `id` is looked up by the time in its
 * UUIDv7 (a short window of the tenant's log), then in the supplied-id index, then in the log
 * after the index's checkpoint (docs/reading.md, "Lookup by event id").
 *
 * Pages hold whole commits and at most `limit` matching events, except that one commit with more
 * matches than `limit` comes whole. With a `budget`, a page also ends before the commit that would
 * take its encoded events past `budget.maxBytes` (`nextOffset` is that commit); a first commit too
 * large on its own is `TooLarge`. A request examines at most `scanBudget` commits (default
 * 20,000): when they are spent before the end, the page so far (possibly empty) comes with
 * `nextOffset`, the first commit not examined, so no consumer is held for long by a filter that
 * matches little of a large log.
 */
export const createQuery = (
  nc: NatsConnection,
  o: {
    readonly prefix?: string
    /** The supplied-id index (ids a lookup by time cannot find); without it, those are found by scanning the log. */
    readonly index?: EventIdIndex
    /** The window a UUIDv7 id is looked up in; must be the one the indexer uses (default {@link defaultIdWindow}). */
    readonly idWindow?: IdWindow
    /** How a lookup by time reads the log; default: batch direct gets where the server and stream allow, else a consumer (tests force one). */
    readonly idReads?: 'direct' | 'consumer'
    /** The processor's consumer budget. */
    readonly consumers?: LogConsumers
    /** Commits one request may examine (decoded or skipped by their header) before it answers. */
    readonly scanBudget?: number
  } = {},
) => {
  const subj = subjects(o.prefix ?? defaultPrefix)
  const name = EVENT_STREAM
  const jsmP = jetstreamManager(nc, { checkAPI: false }) // no request: a timeout kept here would fail every later call
  const consumers = o.consumers ?? createLogConsumers(nc)
  const scanBudget = Math.max(1, o.scanBudget ?? defaultScanBudget)

  const scan = async (tenant: string, q: QueryRequest, startAt: number | undefined, budget: PageBudget | undefined): Promise<E.Either<DomainError, QueryPage>> => {
    const plan = planScan(queryFilter(q), Math.max(q.fromOffset ?? 1, startAt ?? 1))
    const end = Math.min((await (await jsmP).streams.info(name)).state.last_seq, plan.toOffset ?? Number.POSITIVE_INFINITY)
    const start = plan.fromOffset ?? 1
    if (start > end || plan.types?.size === 0 || plan.streams?.length === 0) return E.right({ events: [] })
    const lease = await consumers.open(name, {
      filter_subjects: plan.streams === undefined ? [subj.eventsOf(tenant)] : plan.streams.map((s) => subj.eventsOf(tenant, s)),
      ...(plan.sinceMs !== undefined && plan.fromOffset === undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(plan.sinceMs).toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
    })
    const events: ReplayedEvent[] = []
    let nextOffset: number | undefined
    let bytes = 0
    let scanned = 0
    try {
      if ((await lease.consumer.info(true)).num_pending === 0) return E.right({ events: [] })
      const messages = await lease.consume()
      for await (const m of messages) {
        if (m.seq > end) break
        if (plan.untilMs !== undefined && m.info.timestampNanos / 1e6 > plan.untilMs + CLOCK_SLACK_MS) break
        scanned++
        // The header is parsed only when the plan has types to check (nats.js parses every header of the message).
        const types = plan.types === undefined ? undefined : m.headers?.get('AllSource-Types')
        if (admitsTypes(plan, types === undefined || types === '' ? undefined : types.split(','))) {
          const commit = decodeCommit(m.data, m.seq)
          const hits: ReplayedEvent[] = []
          for (const e of commit.events) {
            // The decoded event is ours alone: annotate it in place rather than copy it.
            const ev = e as Mutable<ReplayedEvent>
            ev.offset = m.seq
            ev.tenant = commit.tenant
            ev.stream = commit.stream
            if (plan.matches(ev)) hits.push(ev)
          }
          if (hits.length > 0) {
            if (events.length > 0 && events.length + hits.length > q.limit) {
              nextOffset = m.seq
              break
            }
            const size = fits(budget, bytes, hits)
            if (!size.ok) {
              if (events.length === 0) return E.left(tooLargeCommit(m.seq, size.bytes, budget?.maxBytes ?? 0))
              nextOffset = m.seq
              break
            }
            bytes += size.bytes
            for (const e of hits) events.push(e)
            if (events.length >= q.limit && m.seq < end && m.info.pending > 0) {
              nextOffset = m.seq + 1
              break
            }
          }
        }
        if (m.seq >= end || m.info.pending === 0) break
        if (scanned >= scanBudget) {
          nextOffset = m.seq + 1
          break
        }
      }
    } finally {
      lease.close()
    }
    return E.right(nextOffset === undefined ? { events } : { events, nextOffset })
  }

  const byTime = createTimeWindowLookup(nc, consumers, (tenant) => subj.eventsOf(tenant), (tenant) => subj.eventsPrefixOf(tenant), o.idWindow, o.idReads)

  /** The commit holding event `id` of `tenant`: by time for a UUIDv7, then the supplied-id index. */
  const findById = async (tenant: string, id: string): Promise<FoundCommit | 'not-indexed' | undefined> => {
    const found = await byTime(tenant, id)
    if (found !== undefined) return found
    const offset = o.index === undefined ? undefined : await o.index.lookup(tenant, id)
    if (offset === undefined) return 'not-indexed'
    const m = await (await jsmP).direct.getMessage(name, { seq: offset })
    // The index is keyed by tenant; the subject check keeps a damaged entry from crossing tenants.
    if (m === null || !m.subject.startsWith(subj.eventsPrefixOf(tenant))) return undefined
    const commit = decodeCommit(m.data, m.seq)
    return commit.events.some((e) => e.id === id) ? { offset, commit } : undefined
  }

  /** One page of the query; with a `budget`, bounded by the encoded size of its events too. */
  return async (tenant: string, q: QueryRequest, budget?: PageBudget): Promise<E.Either<DomainError, QueryPage>> => {
    if (q.id === undefined) return scan(tenant, q, undefined, budget)
    const found = await findById(tenant, q.id)
    // Not found by time nor in the index: the event can only be after the index's checkpoint.
    if (found === 'not-indexed') return scan(tenant, q, (o.index === undefined ? 0 : await o.index.checkpoint()) + 1, budget)
    if (found === undefined || (q.fromOffset !== undefined && found.offset < q.fromOffset)) return E.right({ events: [] })
    const { offset, commit } = found
    const plan = planScan(queryFilter(q), q.fromOffset)
    const events = commit.events.map((e) => ({ ...e, offset, tenant: commit.tenant, stream: commit.stream })).filter(plan.matches)
    const size = fits(budget, 0, events)
    return size.ok ? E.right({ events }) : E.left(tooLargeCommit(offset, size.bytes, budget?.maxBytes ?? 0))
  }
}

export type Query = ReturnType<typeof createQuery>
