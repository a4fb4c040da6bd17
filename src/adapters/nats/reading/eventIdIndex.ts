import { EVENT_STREAM } from '../log/eventStream.js'
import { type ConsumerMessages, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { decodeCommit } from '../../codec/commitCodec.js'
import { defaultIdWindow, findableByTime, type IdWindow } from '../../../domain/reading/idWindow.js'
import { PipelinedPublisher } from '../log/pipelinedPublisher.js'
import { createLogConsumers, type LogConsumers } from './logConsumer.js'
import { storeMillis } from './idLookup.js'
import { defaultPrefix, kvSubject, subjects } from '../subjects.js'

const encoder = new TextEncoder()

/**
 * The index of the event ids that a lookup by time cannot find (docs/reading.md, "Lookup by event
 * id"): client-supplied ids that are not UUIDv7, and UUIDv7 ids stored outside their window.
 */
export const ID_INDEX_BUCKET = 'ALLSOURCE_SUPPLIED_IDS'
/**
 * The per-event index of earlier versions (a key for every event). Nothing reads or writes it any
 * more; it is left in place, and the indexer says once at start that it can be deleted.
 */
export const LEGACY_ID_INDEX_BUCKET = 'ALLSOURCE_EVENT_IDS'
const CHECKPOINT = '_checkpoint'
/** How often the checkpoint is saved while the indexer keeps up (a put per commit would be a write per append). */
const CHECKPOINT_EVERY_MS = 250

/** Event ids may hold any printable ASCII; KV keys may not, so ids are base64url-encoded. */
const keyOf = (tenant: string, id: string) => `${tenant}.${Buffer.from(id).toString('base64url')}`

export interface EventIdIndex {
  /** The offset of the commit holding this event, if the index holds it (only ids a lookup by time cannot find). */
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

/** Whether the per-event bucket of earlier versions is still on the server. */
export const legacyIndexPresent = async (nc: NatsConnection): Promise<boolean> => {
  try {
    await (await jetstreamManager(nc, { checkAPI: false })).streams.info(`KV_${LEGACY_ID_INDEX_BUCKET}`)
    return true
  } catch {
    return false
  }
}

/**
 * Keeps `ALLSOURCE_SUPPLIED_IDS` (KV: `<tenant>.<base64url(event id)>` → offset) in step with the
 * log, off the write path: it follows `ALLSOURCE_EVENTS` from its checkpoint and writes a KV entry
 * only for an event that {@link findableByTime} says a lookup by time cannot find (an id that is
 * not a UUIDv7, or one stored outside its window: the same rule the lookup uses, with the store
 * time of the commit). Generated ids cost no write. The checkpoint moves once every puts before it
 * is stored, saved at most every 250 ms (and after each 4,096 puts); a lookup for an event after
 * the checkpoint scans the log after it. Idempotent, so a restart (or two indexers) only rewrites
 * the same entries.
 *
 * The puts are pipelined on one reply subscription (not `kv.put`, a request apiece). A failure is
 * reported to `onError` and the indexer starts again from its checkpoint, backing off from 250 ms
 * to 5 s.
 */
export const startEventIdIndexer = async (
  nc: NatsConnection,
  prefix = defaultPrefix,
  /** Told when following the log failed (NATS unavailable, a put refused); the indexer retries from its checkpoint. */
  onError: (error: unknown) => void = () => undefined,
  /** Where its consumer comes from (deleted after each failure, pulls capped by bytes); default: a pool of its own. */
  consumers: LogConsumers = createLogConsumers(nc, { max: 1 }),
  /** Replicas of `ALLSOURCE_SUPPLIED_IDS` when it is created (default 1). */
  replicas = 1,
  /** The lookup's window; must be the one lookups use. */
  window: IdWindow = defaultIdWindow,
): Promise<{ stop(): Promise<void> }> => {
  const kv = await openBucket(nc, replicas)
  const publisher = new PipelinedPublisher(nc, 30_000)
  let messages: ConsumerMessages | undefined
  let stopped = false
  const put = async (key: string, value: string): Promise<void> => {
    const r = await publisher.publish(kvSubject(ID_INDEX_BUCKET, key), encoder.encode(value))
    if (r._tag !== 'Stored') throw new Error(`event id index: put of ${key} failed: ${r._tag === 'Rejected' ? r.description : r._tag}`)
  }
  const cp = await kv.get(CHECKPOINT)
  /** The last offset whose entries are all stored, and the last one saved as the checkpoint. */
  let indexed = cp === null || cp.operation !== 'PUT' ? 0 : Number(cp.string())
  let saved = indexed
  let saving: Promise<void> = Promise.resolve()
  const save = (): Promise<void> =>
    (saving = saving.catch(() => undefined).then(async () => {
      const upTo = indexed
      if (upTo <= saved) return
      await put(CHECKPOINT, String(upTo))
      saved = upTo
    }))
  const timer = setInterval(() => save().catch(onError), CHECKPOINT_EVERY_MS)
  timer.unref()

  /** Follows the log from the checkpoint until stopped; rejects on the first failure. */
  const follow = async (): Promise<void> => {
    const lease = await consumers.open(EVENT_STREAM, {
      filter_subjects: [subjects(prefix).eventsWildcard],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: indexed + 1,
    })
    let batch: Promise<void>[] = []
    try {
      // A short pull expiry (5 s, not 30 s): a pull lost with a server restart is noticed sooner.
      messages = await lease.consume({ expires: 5_000 })
      if (stopped) messages.stop()
      for await (const m of messages) {
        const commit = decodeCommit(m.data, m.seq)
        const at = storeMillis(m.info.timestampNanos)
        for (const e of commit.events) {
          if (findableByTime(e.id, at, window)) continue
          const p = put(keyOf(commit.tenant, e.id), String(m.seq))
          // Observed at once: a put can fail while the loop waits for the next message, before
          // Promise.all below attaches to it (an unhandled rejection then); the failure still
          // reaches Promise.all, which rejects the batch.
          p.catch(() => undefined)
          batch.push(p)
        }
        if (batch.length === 0) indexed = m.seq
        else if (batch.length >= 4_096 || m.info.pending === 0) {
          await Promise.all(batch)
          batch = []
          indexed = m.seq
          if (m.info.pending > 0) await save()
        }
      }
    } finally {
      // Puts still in flight when following stops are already observed; `indexed` did not move
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
      clearInterval(timer)
      messages?.stop()
      wake?.()
      await loop
      await save().catch(() => undefined)
      publisher.close()
    },
  }
}
