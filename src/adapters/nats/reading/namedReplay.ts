import { AckPolicy, type ConsumerConfig, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { type NatsConnection, nanos, nuid } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { validateStream, validateTenant } from '../../../domain/streams/appendRequest.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import { defaultPrefix, subjects } from '../subjects.js'
import type { ReplayedEvent } from './replay.js'

export interface NamedReplayOptions {
  readonly tenant: string
  readonly stream?: string
  /** Start at this offset (inclusive); default the beginning. */
  readonly fromOffset?: number
  /** Start at the first commit stored at or after this time. */
  readonly since?: Date
  /** Start after the log's current end (only new commits; implies following). */
  readonly fromEnd?: boolean
  /** Keep following new commits instead of stopping at the end as of the start. */
  readonly follow?: boolean
  readonly prefix?: string
}

/** One replayed commit: its offset, its events, and how many matching commits were still pending after it. */
export interface ReplayedCommit {
  readonly offset: number
  readonly events: readonly ReplayedEvent[]
  readonly pending: number
}

export interface NamedReplay extends AsyncIterable<ReplayedCommit> {
  /** Matching commits at or after the start when the replay opened (the total for a progress bar). */
  readonly total: number
  /** Stops and deletes the consumer; idempotent. */
  close(): Promise<void>
}

/**
 * Replays one tenant's commits through a named ephemeral pull consumer whose filter is in the
 * create subject (`$JS.API.CONSUMER.CREATE.ALLSOURCE_EVENTS.<name>.allsource.events.<t>.>`): the
 * recipe a tenant credential may use (docs/security.md); it reads no stream info and needs no
 * `$JS.API.INFO`, so tenant keys, access tokens and the operator all can. Commits come in offset
 * order; without `follow` it ends at the last commit pending when it opened. The consumer is
 * deleted on `close()` (and by the server after 30 s of inactivity should that be lost).
 * Ids are checked before a subject is built (`INVALID_ID` as a thrown message).
 */
export const openNamedReplay = async (nc: NatsConnection, o: NamedReplayOptions): Promise<NamedReplay> => {
  if (E.isLeft(validateTenant(o.tenant))) throw new Error('INVALID_ID: tenant must be 1–64 chars of A–Z a–z 0–9 _ -')
  if (o.stream !== undefined && E.isLeft(validateStream(o.stream))) throw new Error('INVALID_ID: stream must be 1–200 chars of A–Z a–z 0–9 _ - =')
  const jsm = await jetstreamManager(nc, { checkAPI: false })
  const name = `replay_${nuid.next()}`
  const start: Partial<ConsumerConfig> =
    o.fromEnd === true
      ? { deliver_policy: DeliverPolicy.New }
      : o.since !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.since.toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, o.fromOffset ?? 1) }
  await jsm.consumers.add(EVENT_STREAM, {
    name,
    filter_subject: subjects(o.prefix ?? defaultPrefix).eventsOf(o.tenant, o.stream),
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(30_000),
    ...start,
  })
  const consumer = await jetstream(nc, { checkAPI: false }).consumers.get(EVENT_STREAM, name)
  const total = (await consumer.info()).num_pending
  const follow = o.follow === true || o.fromEnd === true
  let closed = false
  let stop: (() => void) | undefined
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    stop?.()
    await consumer.delete().catch(() => undefined)
  }
  async function* commits(): AsyncGenerator<ReplayedCommit> {
    try {
      if (total === 0 && !follow) return
      const messages = await consumer.consume({ max_bytes: 4 * ((nc.info?.max_payload ?? 1024 * 1024) + 64 * 1024) })
      stop = () => messages.stop()
      for await (const m of messages) {
        const commit = decodeCommit(m.data, m.seq)
        const events = commit.events.map((e) => ({ ...e, offset: m.seq, tenant: commit.tenant, stream: commit.stream }))
        yield { offset: m.seq, events, pending: m.info.pending }
        if (!follow && m.info.pending === 0) break
      }
    } finally {
      await close()
    }
  }
  const it = commits()
  return { total, close, [Symbol.asyncIterator]: () => it }
}
