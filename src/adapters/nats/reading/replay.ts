import { EVENT_STREAM } from '../log/eventStream.js'
import { DeliverPolicy, jetstreamManager, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { ReadEvent } from '../../../application/reading/readStream.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import { createLogConsumers, type LogConsumer, type LogConsumers } from './logConsumer.js'
import { defaultPrefix, subjects } from '../subjects.js'

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
  /** Where the consumer comes from (the processor's budget); default: a pool of this replay's own. */
  readonly consumers?: LogConsumers
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
 * commit), through an ordered pull consumer: memory stays bounded by one pull's bytes however
 * slow the caller is. Stops at the log's end as of the call unless `follow` is set. The consumer
 * is deleted when the replay ends, fails or is broken out of; one abandoned without `return()`
 * is dropped by the server after the pool's inactivity threshold.
 *
 * A hand-written iterator rather than an async generator: the events of a decoded commit are
 * handed out from an array with an already-settled promise each, where a generator's `yield`
 * costs several promise turns per event.
 */
export function replayEvents(nc: NatsConnection, o: ReplayOptions): AsyncIterableIterator<ReplayedEvent> {
  let lease: LogConsumer | undefined
  let opened: Promise<AsyncIterator<JsMsg> | undefined> | undefined
  let end = Number.POSITIVE_INFINITY
  let events: ReplayedEvent[] = []
  let at = 0
  let last = false
  let done = false

  const open = async (): Promise<AsyncIterator<JsMsg> | undefined> => {
    const name = o.streamName ?? EVENT_STREAM
    const filter = subjects(o.prefix ?? defaultPrefix).eventsOf(o.tenant, o.stream)
    if (o.follow !== true) end = (await (await jetstreamManager(nc)).streams.info(name)).state.last_seq
    const start = o.fromOffset ?? 1
    if (start > end) return undefined
    lease = await (o.consumers ?? createLogConsumers(nc)).open(name, {
      filter_subjects: [filter],
      ...(o.since !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.since.toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
    })
    if (done) {
      lease.close()
      return undefined
    }
    // Nothing on the filter at or after the start: don't wait for messages that will not come.
    const pending = (await lease.consumer.info(true)).num_pending
    if (pending === 0 && o.follow !== true) return undefined
    return (await lease.consume())[Symbol.asyncIterator]()
  }

  const finish = (): IteratorReturnResult<undefined> => {
    done = true
    events = []
    lease?.close()
    return { value: undefined, done: true }
  }

  /** Decodes commits until one has events to hand out; false at the end. */
  const refill = async (): Promise<boolean> => {
    const it = await (opened ??= open())
    if (it === undefined || done) return false
    while (!last) {
      const next = await it.next()
      if (next.done === true) return false
      const m = next.value
      const info = m.info
      const seq = info.streamSequence
      if (seq > end) return false
      last = (seq >= end || info.pending === 0) && o.follow !== true
      if (o.type !== undefined && !hasType(m.headers?.get('AllSource-Types'), o.type)) continue
      const commit = decodeCommit(m.data, seq)
      const out: ReplayedEvent[] = []
      for (const e of commit.events) {
        if (o.type !== undefined && e.type !== o.type) continue
        // The decoded event is ours alone: annotate it in place rather than copy it.
        const ev = e as Mutable<ReplayedEvent>
        ev.offset = seq
        ev.tenant = commit.tenant
        ev.stream = commit.stream
        out.push(ev)
      }
      if (out.length > 0) {
        events = out
        at = 0
        return true
      }
    }
    return false
  }

  const slowNext = async (): Promise<IteratorResult<ReplayedEvent>> => {
    try {
      if (!done && (await refill())) return { value: events[at++] as ReplayedEvent, done: false }
    } catch (e) {
      finish()
      throw e
    }
    return finish()
  }

  return {
    [Symbol.asyncIterator]() {
      return this
    },
    next(): Promise<IteratorResult<ReplayedEvent>> {
      if (at < events.length) return Promise.resolve({ value: events[at++] as ReplayedEvent, done: false })
      return slowNext()
    },
    return(): Promise<IteratorResult<ReplayedEvent>> {
      return Promise.resolve(finish())
    },
  }
}
