import { EVENT_STREAM } from '../log/eventStream.js'
import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { decodeCommit } from '../../codec/commitCodec.js'
import { PipelinedPublisher } from '../log/pipelinedPublisher.js'
import { createLogConsumers, type LogConsumers } from './logConsumer.js'
import { defaultPrefix, kvSubject, subjects } from '../subjects.js'

const encoder = new TextEncoder()

export const ID_INDEX_BUCKET = 'ALLSOURCE_EVENT_IDS'
const CHECKPOINT = '_checkpoint'

/** Event ids may hold any printable ASCII; KV keys may not, so ids are base64url-encoded. */
const keyOf = (tenant: string, id: string) => `${tenant}.${Buffer.from(id).toString('base64url')}`

export interface EventIdIndex {
  /** The offset of the commit holding this event, if the index has reached it. */
  lookup(tenant: string, id: string): Promise<number | undefined>
  /** The last offset the index covers: events after it must be found by scanning the tail. */
  checkpoint(): Promise<number>
}

const openBucket = (nc: NatsConnection, replicas = 1): Promise<KV> => new Kvm(nc).create(ID_INDEX_BUCKET, { history: 1, replicas })

/** Reads the index that {@link startEventIdIndexer} maintains. */
export const openEventIdIndex = async (nc: NatsConnection, replicas = 1): Promise<EventIdIndex> => {
  const kv = await openBucket(nc, replicas)
  const num = async (key: string) => {
    const e = await kv.get(key)
    return e === null || e.operation !== 'PUT' ? undefined : Number(e.string())
  }
  return {
    lookup: (tenant, id) => num(keyOf(tenant, id)),
    checkpoint: async () => (await num(CHECKPOINT)) ?? 0,
  }
}

/**
 * Keeps `ALLSOURCE_EVENT_IDS` (KV: `<tenant>.<base64url(event id)>` → offset) in step with the
 * log, off the write path: it follows `ALLSOURCE_EVENTS` from its checkpoint and writes one KV
 * entry per event, moving the checkpoint after each batch. Cost per append: one KV put per event,
 * asynchronous; a lookup for an event the indexer has not reached yet scans only the log after
 * the checkpoint. Idempotent, so a restart (or two indexers) only rewrites the same entries.
 *
 * The puts are pipelined on one reply subscription (not `kv.put`, which is a request apiece with
 * its own error objects): thousands are in flight at once, and the checkpoint moves only after
 * every put before it was stored. A failure is reported to `onError` and the indexer starts again
 * from its checkpoint, backing off from 250 ms to 5 s.
 */
export const startEventIdIndexer = async (
  nc: NatsConnection,
  prefix = defaultPrefix,
  /** Told when following the log failed (NATS unavailable, a put refused); the indexer retries from its checkpoint. */
  onError: (error: unknown) => void = () => undefined,
  /** Where its consumer comes from (deleted after each failure, pulls capped by bytes); default: a pool of its own. */
  consumers: LogConsumers = createLogConsumers(nc, { max: 1 }),
  /** Replicas of `ALLSOURCE_EVENT_IDS` when it is created (default 1). */
  replicas = 1,
): Promise<{ stop(): Promise<void> }> => {
  const kv = await openBucket(nc, replicas)
  const publisher = new PipelinedPublisher(nc, 30_000)
  let messages: ConsumerMessages | undefined
  let stopped = false
  const put = async (key: string, value: string): Promise<void> => {
    const r = await publisher.publish(kvSubject(ID_INDEX_BUCKET, key), encoder.encode(value))
    if (r._tag !== 'Stored') throw new Error(`event id index: put of ${key} failed: ${r._tag === 'Rejected' ? r.description : r._tag}`)
  }

  /** Follows the log from the checkpoint until stopped; rejects on the first failure. */
  const follow = async (): Promise<void> => {
    const cp = await kv.get(CHECKPOINT)
    const from = (cp === null || cp.operation !== 'PUT' ? 0 : Number(cp.string())) + 1
    const lease = await consumers.open(EVENT_STREAM, {
      filter_subjects: [subjects(prefix).eventsWildcard],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    })
    let batch: Promise<void>[] = []
    try {
      // A short pull expiry (5 s, not 30 s): a pull lost with a server restart is noticed sooner.
      messages = await lease.consume({ expires: 5_000 })
      if (stopped) messages.stop()
      for await (const m of messages) {
        const commit = decodeCommit(m.data, m.seq)
        const offset = String(m.seq)
        for (const e of commit.events) {
          const p = put(keyOf(commit.tenant, e.id), offset)
          // Observed at once: a put can fail while the loop waits for the next message, before
          // Promise.all below attaches to it (an unhandled rejection then); the failure still
          // reaches Promise.all, which rejects the batch.
          p.catch(() => undefined)
          batch.push(p)
        }
        if (batch.length >= 4_096 || m.info.pending === 0) {
          await Promise.all(batch)
          batch = []
          await put(CHECKPOINT, offset)
        }
      }
    } finally {
      // Puts still in flight when following stops are already observed; the checkpoint did not move
      // past them, so they are redone on the next run.
      lease.close()
    }
  }

  let wake: (() => void) | undefined
  const loop = (async () => {
    for (let failures = 0; !stopped; ) {
      try {
        await follow()
        if (!stopped) throw new Error('the log consumer ended')
      } catch (e) {
        if (stopped) return
        messages?.stop()
        onError(e)
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, Math.min(5_000, 250 * 2 ** failures++))
        })
      }
    }
  })()
  return {
    async stop() {
      stopped = true
      messages?.stop()
      wake?.()
      await loop
      publisher.close()
    },
  }
}
