import { EVENT_STREAM } from '../log/eventStream.js'
import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { matches, type QueryRequest } from '../../../domain/reading/queryRequest.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import * as E from 'fp-ts/lib/Either.js'
import type { DomainError } from '../../../domain/streams/errors.js'
import { fits, type PageBudget, tooLargeCommit } from '../../../application/reading/readStream.js'
import type { EventIdIndex } from './eventIdIndex.js'
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

/**
 * Runs a query over one tenant's log using what JetStream offers: a subject filter for the tenant
 * or one stream, a start by time for `since`, the `AllSource-Types` header to skip commits without
 * decoding them, and the event-id index for `id`. Pages hold whole commits and at most `limit`
 * matching events, except that one commit with more matches than `limit` comes whole. With a
 * `budget`, a page also ends before the commit that would take its encoded events past
 * `budget.maxBytes` (`nextOffset` is that commit); a first commit too large on its own is `TooLarge`.
 */
export const createQuery = (
  nc: NatsConnection,
  o: { readonly prefix?: string; readonly index?: EventIdIndex; /** The processor's consumer budget. */ readonly consumers?: LogConsumers } = {},
) => {
  const subj = subjects(o.prefix ?? defaultPrefix)
  const name = EVENT_STREAM
  const jsmP = jetstreamManager(nc, { checkAPI: false }) // no request: a timeout kept here would fail every later call
  const consumers = o.consumers ?? createLogConsumers(nc)

  const scan = async (tenant: string, q: QueryRequest, startAt: number | undefined, budget: PageBudget | undefined): Promise<E.Either<DomainError, QueryPage>> => {
    const end = (await (await jsmP).streams.info(name)).state.last_seq
    const start = Math.max(q.fromOffset ?? 1, startAt ?? 1)
    if (start > end) return E.right({ events: [] })
    const lease = await consumers.open(name, {
      filter_subjects: [subj.eventsOf(tenant, q.stream)],
      ...(q.since !== undefined && q.fromOffset === undefined && startAt === undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: q.since.toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
    })
    const events: ReplayedEvent[] = []
    let nextOffset: number | undefined
    let bytes = 0
    try {
      if ((await lease.consumer.info(true)).num_pending === 0) return E.right({ events: [] })
      const messages = await lease.consume()
      for await (const m of messages) {
        if (m.seq > end) break
        if (q.until !== undefined && m.info.timestampNanos / 1e6 > q.until.getTime() + CLOCK_SLACK_MS) break
        const types = m.headers?.get('AllSource-Types') ?? ''
        if (q.type === undefined || types === '' || types.split(',').includes(q.type)) {
          const commit = decodeCommit(m.data, m.seq)
          const hits = commit.events.filter((e) => matches(q, e, commit.stream)).map((e) => ({ ...e, offset: m.seq, tenant: commit.tenant, stream: commit.stream }))
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
      }
    } finally {
      lease.close()
    }
    return E.right(nextOffset === undefined ? { events } : { events, nextOffset })
  }

  /** One page of the query; with a `budget`, bounded by the encoded size of its events too. */
  return async (tenant: string, q: QueryRequest, budget?: PageBudget): Promise<E.Either<DomainError, QueryPage>> => {
    if (q.id === undefined || o.index === undefined) return scan(tenant, q, undefined, budget)
    const offset = await o.index.lookup(tenant, q.id)
    if (offset === undefined) return scan(tenant, q, (await o.index.checkpoint()) + 1, budget)
    if (q.fromOffset !== undefined && offset < q.fromOffset) return E.right({ events: [] })
    const m = await (await jsmP).direct.getMessage(name, { seq: offset })
    if (m === null || !m.subject.startsWith(subj.eventsPrefixOf(tenant))) return E.right({ events: [] })
    const commit = decodeCommit(m.data, m.seq)
    const events = commit.events.filter((e) => matches(q, e, commit.stream)).map((e) => ({ ...e, offset, tenant: commit.tenant, stream: commit.stream }))
    const size = fits(budget, 0, events)
    return size.ok ? E.right({ events }) : E.left(tooLargeCommit(offset, size.bytes, budget?.maxBytes ?? 0))
  }
}

export type Query = ReturnType<typeof createQuery>
