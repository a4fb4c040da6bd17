import { EVENT_STREAM } from './eventStream.js'
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { ReadEvent } from '../../application/reading/readStream.js'
import { decodeCommit } from '../codec/commitCodec.js'

export interface ReplayOptions {
  /** Only this tenant's events (required: tenants never see each other's events). */
  readonly tenant: string
  /** Only this stream of the tenant. */
  readonly stream?: string
  /** Only events of this type (commits without it are skipped by their `AllSource-Types` header, undecoded). */
  readonly type?: string
  /** Start at this log offset (JetStream sequence), inclusive. Default: the beginning. */
  readonly fromOffset?: number
  /** Start at the first commit stored at or after this time (server clock). */
  readonly since?: Date
  /** Keep following new commits instead of stopping at the end of the log as it was at the start. */
  readonly follow?: boolean
  /** Commits buffered ahead of the consumer (backpressure: no more are pulled until they are used). */
  readonly bufferCommits?: number
  readonly prefix?: string
  readonly streamName?: string
}

/** A replayed event: where it is in the log and which stream it belongs to. */
export type ReplayedEvent = ReadEvent & { readonly tenant: string; readonly stream: string }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Whether a commit's `AllSource-Types` header admits `type`; a commit without the header is decoded to check. */
const hasType = (header: string | undefined, type: string): boolean =>
  header === undefined || header === '' || header.split(',').includes(type)

/**
 * Replays the log from an offset or a time, in offset order (then version order within a
 * commit), through an ordered pull consumer: memory stays bounded by `bufferCommits` however
 * slow the caller is. Stops at the log's end as of the call unless `follow` is set. Breaking out
 * of the loop deletes the consumer.
 */
export async function* replayEvents(nc: NatsConnection, o: ReplayOptions): AsyncGenerator<ReplayedEvent> {
  const prefix = o.prefix ?? 'allsource'
  const name = o.streamName ?? EVENT_STREAM
  const filter = `${prefix}.events.${o.tenant}.${o.stream ?? '>'}`
  const end = o.follow === true ? Number.POSITIVE_INFINITY : (await (await jetstreamManager(nc)).streams.info(name)).state.last_seq
  const start = o.fromOffset ?? 1
  if (start > end) return
  const consumer = await jetstream(nc).consumers.get(name, {
    filter_subjects: [filter],
    ...(o.since !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.since.toISOString() }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
  })
  // Nothing on the filter at or after the start: don't wait for messages that will not come.
  const pending = (await consumer.info(true)).num_pending
  if (pending === 0 && o.follow !== true) return
  const messages = await consumer.consume({ max_messages: o.bufferCommits ?? 256 })
  try {
    for await (const m of messages) {
      const info = m.info
      const seq = info.streamSequence
      if (seq > end) break
      if (o.type === undefined || hasType(m.headers?.get('AllSource-Types'), o.type)) {
        const commit = decodeCommit(m.data, seq)
        for (const e of commit.events) {
          if (o.type !== undefined && e.type !== o.type) continue
          // The decoded event is ours alone: annotate it in place rather than copy it.
          const out = e as Mutable<ReplayedEvent>
          out.offset = seq
          out.tenant = commit.tenant
          out.stream = commit.stream
          yield out
        }
      }
      if ((seq >= end || info.pending === 0) && o.follow !== true) break
    }
  } finally {
    messages.stop()
  }
}
