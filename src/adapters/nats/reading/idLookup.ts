import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { defaultIdWindow, type IdScanPass, type IdWindow, planIdScan } from '../../../domain/reading/idWindow.js'
import type { Commit } from '../../../domain/streams/event.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import { directBatch } from './directBatch.js'
import type { LogConsumers } from './logConsumer.js'

/**
 * Bytes one pull of a lookup asks for: a lookup usually stops after a few hundred commits, and
 * what the server sent past the hit is read for nothing (nats.js tops the pull up as it goes).
 */
const LOOKUP_PULL_BYTES = 256 * 1024

/** The last millisecond of the year 9999: ISO-8601 times after it need a sign, which JetStream does not take. */
const LAST_STORE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** A commit of the tenant that holds the event looked up. */
export interface FoundCommit {
  readonly offset: number
  readonly commit: Commit
}

/** Store time of a log message in whole milliseconds (the server's clock). */
export const storeMillis = (timestampNanos: number): number => Math.floor(timestampNanos / 1e6)

/**
 * Whether the commit body can hold an event with this id: event ids are printable ASCII and
 * msgpack stores a string's bytes as they are, so a commit without the id's bytes anywhere in its
 * body cannot hold it, and is skipped without being decoded. A hit is confirmed on the decoded commit.
 */
export const mayHoldId = (body: Uint8Array, idBytes: Uint8Array): boolean =>
  Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(idBytes) >= 0

/** The commit in `body` if it holds an event with exactly this id. */
export const commitHolding = (body: Uint8Array, offset: number, id: string, idBytes: Uint8Array): Commit | undefined => {
  if (!mayHoldId(body, idBytes)) return undefined
  const commit = decodeCommit(body, offset)
  return commit.events.some((e) => e.id === id) ? commit : undefined
}

/**
 * Reads one pass of a lookup in store order: each commit of the tenant stored from `p.fromMs` on,
 * handed to `visit` until it returns true (then resolves true), or until a commit stored after
 * `p.untilMs` or the end of the log (then resolves false).
 */
type PassReader = (tenant: string, p: IdScanPass, visit: (seq: number, data: Uint8Array) => boolean) => Promise<boolean>

/**
 * The batches of a pass (messages, bytes), growing: the hit is usually a few dozen commits in and
 * rarely past a few hundred, and what the server sends past it is read for nothing; a pass that
 * gets further reads on for a while (a miss reads its whole range), in batches of up to 1 MiB.
 */
const BATCHES = [
  { batch: 64, max_bytes: LOOKUP_PULL_BYTES },
  { batch: 256, max_bytes: LOOKUP_PULL_BYTES },
  { batch: 1_024, max_bytes: 1024 * 1024 },
] as const
const LONG_BATCH = { batch: 4_096, max_bytes: 1024 * 1024 } as const

/** What a pass has read so far: commits, and the store times of the first and last. */
export interface PassProgress {
  readonly read: number
  readonly firstMs: number
  readonly lastMs: number
}

/**
 * Messages to ask for in batch `i` of a pass ending at `untilMs`: the growing size of
 * {@link BATCHES}, but no more than the commits the rest of the pass should hold at the rate read
 * so far (a quarter more, and at least 16), since the server cannot stop at a time and sends the
 * whole batch: a near pass that misses then reads about its 20 ms, not a megabyte past them. Any
 * size is correct (a batch too small is followed by another); this only bounds what is read for
 * nothing.
 */
export const batchSize = (i: number, progress: PassProgress | undefined, untilMs: number): number => {
  const grown = (BATCHES[i] ?? LONG_BATCH).batch
  if (progress === undefined || progress.read === 0) return grown
  const perMs = progress.read / Math.max(1, progress.lastMs - progress.firstMs + 1)
  const expected = Math.ceil(Math.max(0, untilMs - progress.lastMs + 1) * perMs * 1.25) + 16
  return Number.isFinite(expected) ? Math.max(16, Math.min(grown, expected)) : grown
}

/**
 * A pass by batch direct gets (no consumer): from the pass's start time, then from the sequence
 * after the last one answered, in store order, the tenant's commits kept by their subject
 * (`<prefix>.events.<tenant>.`) and any other skipped unread.
 *
 * The two near passes send no subject filter: with one, the server counts the filter's pending
 * messages for every batch request (nats-server `NumPending`), work that grows with the number
 * of blocks in the log; without, that count is a subtraction and each next message a plain load.
 * They read every tenant's commits in their few milliseconds, which are about the appends that
 * were in flight with the event's. The far passes, which read up to seconds of the log and are
 * only reached by a slow publish, a skewed clock or an id that does not exist, filter on the
 * tenant's subjects (`next_by_subj`), so that their cost is the tenant's commits and not every
 * tenant's; there the count is paid once per batch of up to 1 MiB.
 *
 * Batches grow, but not past the pass's end at the rate read so far ({@link batchSize}), and are
 * capped by bytes, because the server answers a direct get in the read loop of the processor's
 * connection: a batch is loaded there at once.
 */
const readDirect = async (
  nc: NatsConnection,
  tenantFilter: (tenant: string) => string,
  tenantPrefix: (tenant: string) => string,
  farFilter: boolean,
  tenant: string,
  p: IdScanPass,
  visit: (seq: number, data: Uint8Array) => boolean,
): Promise<boolean> => {
  const prefix = tenantPrefix(tenant)
  const filter = p.near || !farFilter ? {} : { next_by_subj: tenantFilter(tenant) }
  let from: { readonly start_time: string } | { readonly seq: number } = { start_time: new Date(Math.max(0, p.fromMs)).toISOString() }
  let found = false
  let read = 0
  let firstMs = Number.NaN
  let lastMs = Number.NaN
  for (let i = 0; ; i++) {
    const batch = batchSize(i, read === 0 ? undefined : { read, firstMs, lastMs }, p.untilMs)
    let passed = false
    const end = await directBatch(nc, EVENT_STREAM, { ...from, ...filter, batch, max_bytes: (BATCHES[i] ?? LONG_BATCH).max_bytes }, (m) => {
      if (m.storeMs > p.untilMs) return (passed = true)
      if (read++ === 0) firstMs = m.storeMs
      lastMs = m.storeMs
      // Another tenant's commit (or anything else the stream holds): not even searched.
      if (!m.subject.startsWith(prefix)) return false
      return (found = visit(m.seq, m.data))
    })
    if (found) return true
    if (passed || end._tag !== 'EndOfBatch' || end.pending === 0 || end.lastSeq === 0) return false
    from = { seq: end.lastSeq + 1 }
  }
}

/** {@link readDirect} holding a slot of the consumer budget while it reads. */
const directPassReader =
  (nc: NatsConnection, consumers: LogConsumers, tenantFilter: (tenant: string) => string, tenantPrefix: (tenant: string) => string, farFilter: boolean): PassReader =>
  async (tenant, p, visit) => {
    // No consumer, but a slot of the processor's budget all the same: it bounds how many reads
    // load the log at once, and a full budget answers UNAVAILABLE as it does for a consumer.
    const release = await consumers.slot()
    try {
      return await readDirect(nc, tenantFilter, tenantPrefix, farFilter, tenant, p, visit)
    } finally {
      release()
    }
  }

/**
 * A pass by an ephemeral ordered consumer (servers before 2.11, and replicated streams, whose
 * direct gets a follower may answer before it has the latest commits): started at the pass's
 * store time (`opt_start_time`) on the tenant's subjects, read until the store time passes the
 * pass's end or the log ends.
 */
const consumerPassReader =
  (consumers: LogConsumers, tenantFilter: (tenant: string) => string): PassReader =>
  async (tenant, p, visit) => {
    const lease = await consumers.open(EVENT_STREAM, {
      filter_subjects: [tenantFilter(tenant)],
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Math.max(0, p.fromMs)).toISOString(),
    })
    try {
      if ((await lease.consumer.info(true)).num_pending === 0) return false
      for await (const m of await lease.consume({ maxBytes: LOOKUP_PULL_BYTES })) {
        if (storeMillis(m.info.timestampNanos) > p.untilMs) return false
        if (visit(m.seq, m.data)) return true
        if (m.info.pending === 0) return false
      }
      return false
    } finally {
      lease.close()
    }
  }

/** How often the lookup checks again whether direct gets may serve it (server version, the stream's replicas). */
const RECHECK_MS = 60_000

/** Whether batch direct gets serve lookups: nats-server 2.11 or newer, `allow_direct` on, a single replica. */
export const directGetsServe = (version: string | undefined, config: { readonly allow_direct?: boolean; readonly num_replicas?: number }): boolean => {
  const [major = 0, minor = 0] = (version ?? '0.0.0').split('.').map((x) => parseInt(x, 10) || 0)
  return (major > 2 || (major === 2 && minor >= 11)) && config.allow_direct === true && (config.num_replicas ?? 1) === 1
}

/**
 * Looks a UUIDv7 event id up by time: the passes of {@link planIdScan}, in order, each read in
 * store order, only the tenant's commits searched (by their subject `<prefix>.events.<tenant>.…`,
 * so another tenant's event is never returned), stopping at the first commit that holds the id. A pass is read by batch
 * direct gets when the server and stream allow it ({@link directGetsServe}), else by an ordered
 * consumer; both read the same commits. Commits whose body does not contain the id's bytes are
 * skipped undecoded. Resolves to the first commit that holds the id, or undefined when none in the
 * window does (the event may then be in the supplied-id index, or not exist).
 */
export const createTimeWindowLookup = (
  nc: NatsConnection,
  consumers: LogConsumers,
  tenantFilter: (tenant: string) => string,
  tenantPrefix: (tenant: string) => string,
  window: IdWindow = defaultIdWindow,
  /** Force one way of reading (tests); default: chosen from the server and the stream, rechecked every minute. */
  mode?: 'direct' | 'consumer',
  /** Whether the far passes of direct gets filter on the tenant's subjects (default; off only to measure the difference). */
  farFilter = true,
) => {
  const direct = directPassReader(nc, consumers, tenantFilter, tenantPrefix, farFilter)
  const consumer = consumerPassReader(consumers, tenantFilter)
  let checked: { readonly at: number; readonly reader: Promise<PassReader> } | undefined
  const reader = (): Promise<PassReader> => {
    if (mode !== undefined) return Promise.resolve(mode === 'direct' ? direct : consumer)
    if (checked === undefined || Date.now() - checked.at > RECHECK_MS) {
      const r = (async () => {
        try {
          const info = await (await jetstreamManager(nc, { checkAPI: false })).streams.info(EVENT_STREAM)
          return directGetsServe(nc.info?.version, info.config) ? direct : consumer
        } catch {
          checked = undefined // asked again next time; the consumer is right whatever the stream
          return consumer
        }
      })()
      checked = { at: Date.now(), reader: r }
    }
    return checked.reader
  }

  return async (tenant: string, id: string): Promise<FoundCommit | undefined> => {
    const idBytes = Buffer.from(id, 'latin1')
    const read = await reader()
    for (const p of planIdScan(id, window)) {
      // A UUIDv7 can name any time up to the year 10889; nothing was stored before 1970 or after 9999.
      if (p.untilMs < 0 || p.fromMs > LAST_STORE_MS) continue
      let found: FoundCommit | undefined
      await read(tenant, p, (seq, data) => {
        const commit = commitHolding(data, seq, id, idBytes)
        if (commit !== undefined) found = { offset: seq, commit }
        return found !== undefined
      })
      if (found !== undefined) return found
    }
    return undefined
  }
}
