import { EVENT_STREAM } from './eventStream.js'
import { DeliverPolicy, jetstream } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { decodeCommit } from '../codec/commitCodec.js'
import { PipelinedPublisher } from './pipelinedPublisher.js'

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

const openBucket = (nc: NatsConnection): Promise<KV> => new Kvm(nc).create(ID_INDEX_BUCKET, { history: 1 })

/** Reads the index that {@link startEventIdIndexer} maintains. */
export const openEventIdIndex = async (nc: NatsConnection): Promise<EventIdIndex> => {
  const kv = await openBucket(nc)
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
 * every put before it was stored.
 */
export const startEventIdIndexer = async (nc: NatsConnection, prefix = 'allsource'): Promise<{ stop(): Promise<void> }> => {
  const kv = await openBucket(nc)
  const cp = await kv.get(CHECKPOINT)
  const from = (cp === null || cp.operation !== 'PUT' ? 0 : Number(cp.string())) + 1
  const consumer = await jetstream(nc).consumers.get(EVENT_STREAM, {
    filter_subjects: [`${prefix}.events.>`],
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  })
  const messages = await consumer.consume({ max_messages: 1_024 })
  const publisher = new PipelinedPublisher(nc, 30_000)
  const put = async (key: string, value: string): Promise<void> => {
    const r = await publisher.publish(`$KV.${ID_INDEX_BUCKET}.${key}`, encoder.encode(value))
    if (r._tag !== 'Stored') throw new Error(`event id index: put of ${key} failed: ${r._tag === 'Rejected' ? r.description : r._tag}`)
  }
  const loop = (async () => {
    let batch: Promise<void>[] = []
    for await (const m of messages) {
      const commit = decodeCommit(m.data, m.seq)
      const offset = String(m.seq)
      for (const e of commit.events) batch.push(put(keyOf(commit.tenant, e.id), offset))
      if (batch.length >= 4_096 || m.info.pending === 0) {
        await Promise.all(batch)
        batch = []
        await put(CHECKPOINT, offset)
      }
    }
  })()
  return {
    async stop() {
      messages.stop()
      await loop.catch(() => undefined)
      publisher.close()
    },
  }
}
