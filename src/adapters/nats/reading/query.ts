import { EVENT_STREAM } from '../log/eventStream.js'
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { matches, type QueryRequest } from '../../../domain/reading/queryRequest.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import type { EventIdIndex } from './eventIdIndex.js'
import type { ReplayedEvent } from './replay.js'

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
 * matching events, except that one commit with more matches than `limit` comes whole.
 */
export const createQuery = (nc: NatsConnection, o: { readonly prefix?: string; readonly index?: EventIdIndex } = {}) => {
  const prefix = o.prefix ?? 'allsource'
  const name = EVENT_STREAM
  const jsmP = jetstreamManager(nc)

  const scan = async (tenant: string, q: QueryRequest, startAt: number | undefined): Promise<QueryPage> => {
    const end = (await (await jsmP).streams.info(name)).state.last_seq
    const start = Math.max(q.fromOffset ?? 1, startAt ?? 1)
    if (start > end) return { events: [] }
    const consumer = await jetstream(nc).consumers.get(name, {
      filter_subjects: [`${prefix}.events.${tenant}.${q.stream ?? '>'}`],
      ...(q.since !== undefined && q.fromOffset === undefined && startAt === undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: q.since.toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
    })
    if ((await consumer.info(true)).num_pending === 0) return { events: [] }
    const messages = await consumer.consume({ max_messages: 512 })
    const events: ReplayedEvent[] = []
    let nextOffset: number | undefined
    try {
      for await (const m of messages) {
        if (m.seq > end) break
        if (q.until !== undefined && m.info.timestampNanos / 1e6 > q.until.getTime() + CLOCK_SLACK_MS) break
        const types = m.headers?.get('AllSource-Types') ?? ''
        if (q.type === undefined || types === '' || types.split(',').includes(q.type)) {
          const commit = decodeCommit(m.data, m.seq)
          const hits = commit.events.filter((e) => matches(q, e, commit.stream))
          if (hits.length > 0) {
            if (events.length > 0 && events.length + hits.length > q.limit) {
              nextOffset = m.seq
              break
            }
            for (const e of hits) events.push({ ...e, offset: m.seq, tenant: commit.tenant, stream: commit.stream })
            if (events.length >= q.limit && m.seq < end && m.info.pending > 0) {
              nextOffset = m.seq + 1
              break
            }
          }
        }
        if (m.seq >= end || m.info.pending === 0) break
      }
    } finally {
      messages.stop()
    }
    return nextOffset === undefined ? { events } : { events, nextOffset }
  }

  return async (tenant: string, q: QueryRequest): Promise<QueryPage> => {
    if (q.id === undefined || o.index === undefined) return scan(tenant, q, undefined)
    const offset = await o.index.lookup(tenant, q.id)
    if (offset === undefined) return scan(tenant, q, (await o.index.checkpoint()) + 1)
    if (q.fromOffset !== undefined && offset < q.fromOffset) return { events: [] }
    const m = await (await jsmP).direct.getMessage(name, { seq: offset })
    if (m === null || !m.subject.startsWith(`${prefix}.events.${tenant}.`)) return { events: [] }
    const commit = decodeCommit(m.data, m.seq)
    return { events: commit.events.filter((e) => matches(q, e, commit.stream)).map((e) => ({ ...e, offset, tenant: commit.tenant, stream: commit.stream })) }
  }
}

export type Query = ReturnType<typeof createQuery>
