import { AckPolicy, type ConsumerMessages, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Commit } from '../../../domain/streams/event.js'
import type { ProjectionDefinition } from '../../../domain/projections/projection.js'
import type { CommitFeed, FeedMessage, ReadModelStore } from '../../../application/projections/ports.js'
import { type ChunkedFoldOptions, type FoldListener, runChunkedFold } from '../../../application/projections/runChunkedFold.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import { EVENT_STREAM as LOG_STREAM } from '../log/eventStream.js'
import { PipelinedPublisher } from '../log/pipelinedPublisher.js'
import { kvReadModelStore } from './kvReadModelStore.js'
import { natsTopicSink } from './projectionTopic.js'
import { subjects } from '../subjects.js'
import type { TraceSpan, Tracing } from '../../../application/observability/ports.js'
import { COMMIT_REQUEST_ID_HEADER, COMMIT_TRACEPARENT_HEADER } from '../log/jetStreamEventLog.js'

export type { Entry } from '../../../application/projections/ports.js'
export type { FoldListener } from '../../../application/projections/runChunkedFold.js'

/** Where one fold writes: a KV bucket, fed by a durable consumer on the log that starts at `fromOffset`. */
export interface FoldTarget {
  readonly bucket: string
  readonly durable: string
  readonly fromOffset: number
}

export interface FoldOptions extends ChunkedFoldOptions {
  readonly prefix: string
  /**
   * Spans `projection.fold` for each commit that carries a `traceparent` header: a child of the
   * commit's `jetstream.publish` span, from its delivery to the ack of its chunk (folded, written
   * to KV, published on the topic). Default off.
   */
  readonly tracing?: Tracing
  /** Replicas of the read-model bucket when it is created (default 1). */
  readonly replicas?: number
  /** Wraps this fold's store and feed (pipelines: the derived-stream sink, enrich lookups); default none. */
  readonly decorate?: FoldDecorators
}

/** Decorators of a fold's ports: each gets the NATS one and returns what the fold uses. */
export interface FoldDecorators {
  readonly store?: <S>(store: ReadModelStore<S>) => ReadModelStore<S>
  readonly feed?: (feed: CommitFeed) => CommitFeed
}

export interface RunningFold {
  /** Stops pulling; resolves when the chunk in flight is written and acked (or abandoned). */
  stop(): Promise<void>
}

export { LOG_STREAM }

/** Makes sure the durable consumer exists and will redeliver at once what a dead owner left unacked. */
export const ensureFoldConsumer = async (nc: NatsConnection, target: FoldTarget, prefix: string): Promise<void> => {
  const jsm = await jetstreamManager(nc)
  const existing = await jsm.consumers.info(LOG_STREAM, target.durable).catch(() => undefined)
  if (existing !== undefined && existing.num_ack_pending === 0 && existing.config.ack_policy === AckPolicy.All) return
  // Resume right after the last commit fully applied, not after an ack wait.
  if (existing !== undefined) await jsm.consumers.delete(LOG_STREAM, target.durable)
  const start = Math.max(target.fromOffset, (existing?.ack_floor.stream_seq ?? 0) + 1)
  await jsm.consumers.add(LOG_STREAM, {
    durable_name: target.durable,
    filter_subject: subjects(prefix).eventsWildcard,
    // One ack per chunk (the last commit) acknowledges the whole chunk.
    ack_policy: AckPolicy.All,
    max_ack_pending: 50_000,
    ...(start <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
  })
}

/**
 * Folds the log into one KV bucket (key `<tenant>.<key>`) and publishes every change on
 * `<prefix>.projections.<tenant>.<name>.<key>` (see {@link natsTopicSink}). The chunk logic and its
 * exactly-once rules are {@link runChunkedFold}'s; here are the NATS parts: the bucket as a
 * {@link kvReadModelStore}, and the durable consumer as the commit feed (one ack per chunk, since
 * its ack policy is "all").
 */
/** One commit of the durable consumer as the fold sees it; methods on the prototype, so a message costs one small object. */
class ConsumerFeedMessage implements FeedMessage {
  constructor(private readonly m: JsMsg) {}
  get offset(): number {
    return this.m.seq
  }
  get pending(): number {
    return this.m.info.pending
  }
  commit(): Commit {
    return decodeCommit(this.m.data, this.m.seq)
  }
  async ack(): Promise<void> {
    await this.m.ackAck()
  }
}

/**
 * The `projection.fold` spans of commits delivered and not yet acked, in offset order. An ack
 * (of a chunk's last commit) ends every span up to it; `abandon` ends the rest as not folded.
 */
class FoldSpans {
  private readonly open: { readonly offset: number; readonly span: TraceSpan }[] = []
  constructor(
    private readonly tracing: Tracing,
    private readonly projection: string,
  ) {}

  delivered(m: JsMsg): FeedMessage {
    const parent = m.headers?.get(COMMIT_TRACEPARENT_HEADER)
    if (parent === undefined || parent === '') return new ConsumerFeedMessage(m)
    const requestId = m.headers?.get(COMMIT_REQUEST_ID_HEADER)
    const attributes: Record<string, string | number> = { 'allsource.projection': this.projection, 'allsource.offset': m.seq }
    if (requestId !== undefined && requestId !== '') attributes['allsource.request_id'] = requestId
    this.open.push({ offset: m.seq, span: this.tracing.start('projection.fold', parent, attributes) })
    return new TracedFeedMessage(m, this)
  }

  acked(offset: number): void {
    let n = 0
    while (n < this.open.length && (this.open[n]?.offset ?? Infinity) <= offset) this.open[n++]?.span.end()
    this.open.splice(0, n)
  }

  abandon(): void {
    for (const { span } of this.open.splice(0)) span.end('not folded (the fold stopped before its chunk was acked)')
  }
}

class TracedFeedMessage extends ConsumerFeedMessage {
  constructor(
    m: JsMsg,
    private readonly spans: FoldSpans,
  ) {
    super(m)
  }
  override async ack(): Promise<void> {
    await super.ack()
    this.spans.acked(this.offset)
  }
}

/**
 * The consumer delivered to someone else, or a delivery never reached this fold: what it acks from
 * now on would also acknowledge (ack policy "all") commits it never folded, so it must stop.
 */
export class NotAloneOnConsumer extends Error {}

/**
 * The consumer's messages as feed messages: a mapping iterator (an async generator here would cost a
 * few more promise turns per commit).
 *
 * Exclusive delivery is checked, not assumed: the fold started when nothing was pending on the
 * consumer (`afterDelivery` is its delivered consumer sequence then), and each delivery's consumer
 * sequence must be the one after the last. A gap means another fold of the same projection pulled
 * from the consumer (two instances both believing they hold the lease for a moment) or a delivery
 * was lost on the way (a reconnect); either way the commits in the gap are not this fold's, and an
 * ack past them would lose them for good. The iteration then throws {@link NotAloneOnConsumer}
 * before this message is folded, so nothing past the gap is written or acked.
 */
const feedOf = (messages: ConsumerMessages, spans: FoldSpans | undefined, afterDelivery: number): AsyncIterable<FeedMessage> => ({
  [Symbol.asyncIterator]: () => {
    const it = messages[Symbol.asyncIterator]()
    let delivered = afterDelivery
    return {
      next: () =>
        it.next().then((r): IteratorResult<FeedMessage> => {
          if (r.done === true) return { done: true, value: undefined }
          const d = r.value.info.deliverySequence
          if (d !== delivered + 1) {
            throw new NotAloneOnConsumer(
              `commit ${r.value.seq} came as delivery ${d} of the consumer, not ${delivered + 1}: another fold pulls from it (or a delivery was lost); stopping before acknowledging commits this fold did not fold`,
            )
          }
          delivered = d
          return { done: false, value: spans === undefined ? new ConsumerFeedMessage(r.value) : spans.delivered(r.value) }
        }),
      return: async (): Promise<IteratorResult<FeedMessage>> => {
        await it.return?.()
        return { done: true, value: undefined }
      },
    }
  },
})

/** Bytes a fold's pulls may have outstanding, on average: what the server may push before the fold reads. */
const FOLD_PULL_BYTES = 32 * 1024 * 1024

/**
 * How many commits one fold pull asks for: up to 4,096, fewer when the log's commits are large on
 * average, so that catching up on a log of big commits does not have the server push gigabytes
 * onto the connection (and cut it as a slow consumer). nats.js takes a count or a byte cap per
 * consume, not both, and a byte cap alone pulls only 100 commits at a time, which would slow the
 * common case of small commits; so the count is sized from the log's average commit.
 */
export const foldPullBatchFor = (log: { readonly messages: number; readonly bytes: number }): number => {
  const average = log.messages > 0 ? log.bytes / log.messages : 1_024
  return Math.max(16, Math.min(4_096, Math.floor(FOLD_PULL_BYTES / Math.max(average, 1))))
}

const foldPullBatch = async (nc: NatsConnection): Promise<number> => foldPullBatchFor((await (await jetstreamManager(nc)).streams.info(LOG_STREAM)).state)

export const runFold = async <S>(
  nc: NatsConnection,
  def: ProjectionDefinition<S>,
  target: FoldTarget,
  options: FoldOptions,
  listener: FoldListener,
): Promise<RunningFold> => {
  const kv = await new Kvm(nc).create(target.bucket, { history: 1, replicas: options.replicas ?? 1 })
  await ensureFoldConsumer(nc, target, options.prefix)
  const consumer = await jetstream(nc).consumers.get(LOG_STREAM, target.durable)
  const initial = await consumer.info()
  // Commits delivered and not acknowledged belong to another fold (ensureFoldConsumer just found
  // none): acking past them would lose them. Fail; the retry recreates the consumer at its ack floor.
  if (initial.num_ack_pending > 0) throw new NotAloneOnConsumer(`${initial.num_ack_pending} commit(s) of consumer ${target.durable} are held by another fold`)
  // Pulls expire after 5 s (nats.js: 30 s), so one lost in a leader election stalls the fold for
  // about 5 s (two missed heartbeats) rather than a minute.
  const messages = await consumer.consume({ max_messages: await foldPullBatch(nc), expires: 5_000 })
  const publisher = new PipelinedPublisher(nc)
  listener.progress({ checkpoint: initial.ack_floor.stream_seq, lag: initial.num_pending + initial.num_ack_pending, folded: 0 })

  const spans = options.tracing?.enabled === true ? new FoldSpans(options.tracing, def.name) : undefined
  const natsFeed: CommitFeed = { messages: feedOf(messages, spans, initial.delivered.consumer_seq), stop: () => messages.stop() }
  const feed = options.decorate?.feed?.(natsFeed) ?? natsFeed
  const natsStore = kvReadModelStore<S>(kv, target.bucket, publisher)
  const store = options.decorate?.store?.(natsStore) ?? natsStore
  const fold = runChunkedFold(def, store, feed, natsTopicSink(nc, options.prefix), options, listener)
  const closed = fold.done.finally(() => {
    spans?.abandon()
    publisher.close()
  })
  return {
    async stop() {
      await fold.stop()
      await closed
    },
  }
}
