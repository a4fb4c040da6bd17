import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node'
import type { Publisher, PublishResult } from './pipelinedPublisher.js'
import { WireHeaders } from './wireHeaders.js'

/** How commits are grouped (docs/performance.md, "Durable mode"). */
export interface GroupingOptions {
  /** Most messages in one atomic batch (nats-server's `max_batch_size` is 1,000 by default). */
  readonly maxBatch: number
  /**
   * Fewest messages worth a batch. On one replica nats-server stages each batch in a file store
   * of its own (a directory, two metadata files written with O_SYNC, four fsyncs): measured at
   * about 20 ms a batch under load against 0.4–0.7 ms a single publish, so fewer publishes than
   * this go out one by one (docs/performance.md, "Durable mode").
   */
  readonly minBatch: number
}

/** 250: past it, one process's CPU is the limit (batches of 250 and of 1,000 measured alike). */
export const defaultGroupingOptions: GroupingOptions = { maxBatch: 250, minBatch: 32 }

/** Room kept under `max_payload` for the batch headers a member gains. */
export const BATCH_HEADER_ROOM = 128

/**
 * Refusals of a batch that the server makes before it stores anything: its checks of each member
 * (10071 and 10164 wrong last sequence, 10201 a `Nats-Msg-Id` already stored or repeated), of the
 * batch itself (10174–10179, 10199, 10200, 10210: atomic publish off, incomplete, unsupported
 * header, invalid id, too large, bad commit, too many in flight), and "not now" (10008, 10118,
 * 10163). After these, each member is published on its own and gets the answer it would have got
 * without grouping. Any other refusal might follow a partial store (a store error during the
 * commit): its members are answered `TimedOut`, i.e. "may be stored", which the event log settles
 * by re-publishing under the same `Nats-Msg-Id` and reading what is stored.
 */
export const NOTHING_STORED: ReadonlySet<number> = new Set([10071, 10164, 10201, 10174, 10175, 10176, 10177, 10179, 10199, 10200, 10210, 10008, 10118, 10163])

/** What a member is answered when it may or may not be stored (a Publisher never rejects; this is for safety). */
const MAYBE_STORED: PublishResult = { _tag: 'TimedOut' }

/** One message of an atomic batch, with its own headers (`Nats-Msg-Id`, expectations). */
export interface BatchMember {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers: MsgHdrs | undefined
}

interface Queued extends BatchMember {
  readonly resolve: (r: PublishResult) => void
}

/** Batch ids unique to this process and generator: `<pid><random>-<n>`. */
export const batchIds = (): (() => string) => {
  const prefix = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 10)}`
  let n = 0
  return () => `${prefix}-${(++n).toString(36)}`
}

/**
 * Publishes `members` as JetStream atomic batch `id` (nats-server ≥ 2.12, `allow_atomic` on the
 * stream): each member keeps its headers and gains the batch's; all but the last go without a
 * reply subject, the last carries `Nats-Batch-Commit` and goes through `publisher`, whose answer
 * is the batch's (stored whole, ending at its sequence, with `batchCount`; or refused whole).
 * Returns `undefined` when the connection refused a member: nothing reached the commit, so nothing
 * of the batch can be stored (the server drops a batch that is never committed).
 */
export const publishAtomicBatch = (nc: NatsConnection, publisher: Publisher, id: string, members: readonly BatchMember[]): Promise<PublishResult> | undefined => {
  const n = members.length
  let commit: Promise<PublishResult> | undefined
  try {
    members.forEach((m, k) => {
      const h = copyHeaders(m.headers)
      h.append('Nats-Batch-Id', id)
      h.append('Nats-Batch-Sequence', String(k + 1))
      if (k < n - 1) nc.publish(m.subject, m.data, { headers: h })
      else {
        h.append('Nats-Batch-Commit', '1')
        commit = publisher.publish(m.subject, m.data, h)
      }
    })
  } catch {
    return undefined
  }
  return commit
}

const copyHeaders = (h: MsgHdrs | undefined): WireHeaders => {
  const out = new WireHeaders()
  if (h !== undefined) for (const k of h.keys()) for (const v of h.values(k)) out.append(k, v)
  return out
}

const sizeOf = (q: Queued): number => q.data.length + (q.headers instanceof WireHeaders ? q.headers.byteLength : 1_024)

/**
 * A {@link Publisher} that groups what is published within one turn of the event loop into
 * JetStream atomic batches (nats-server ≥ 2.12, stream option `allow_atomic`), so that with
 * `sync_interval: always` many commits share one fsync instead of paying one each.
 *
 * Guarantees, member by member (a member is one `publish` call):
 * - Each member keeps its own headers, so its `Nats-Msg-Id` dedupe and its
 *   `Nats-Expected-Last-Subject-Sequence` check are made by the server as for a single publish;
 *   a batch never holds two members of one subject (a later one waits for the next batch).
 * - A batch is stored whole or not at all. Stored: each member resolves `Stored` at its own
 *   sequence (a batch is stored contiguously, ending at the commit's acked sequence). Refused by a
 *   check ({@link NOTHING_STORED}): each member is published again on its own, and resolves with
 *   that answer, so one member's conflict or duplicate never fails the others. Timed out, or
 *   refused otherwise: each member resolves `TimedOut` (it may be stored), as a single publish
 *   would. A server that stored the members one by one (no atomic batches) acks without a count:
 *   the members before the last resolve `TimedOut` too.
 * - Resolves each `publish` exactly once; never rejects.
 */
export class GroupingPublisher implements Publisher {
  private queue: Queued[] = []
  private scheduled = false
  private closed = false
  private readonly nextBatchId = batchIds()
  private readonly o: GroupingOptions

  constructor(
    private readonly nc: NatsConnection,
    /** The publisher underneath, which sends each message as it comes (an atomic batch of one's own goes through it). */
    readonly inner: Publisher,
    options: Partial<GroupingOptions> = {},
  ) {
    this.o = { ...defaultGroupingOptions, ...options }
  }

  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<PublishResult> {
    if (this.closed) return this.inner.publish(subject, data, headers)
    return new Promise<PublishResult>((resolve) => {
      this.queue.push({ subject, data, headers, resolve })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Sends what is queued, then hands every later publish straight to the inner publisher; closes it. */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.inner.close()
  }

  private flush(): void {
    this.scheduled = false
    const queued = this.queue
    this.queue = []
    const maxPayload = this.nc.info?.max_payload ?? 1024 * 1024
    let group: Queued[] = []
    let subjects = new Set<string>()
    const send = (): void => {
      if (group.length >= this.o.minBatch) this.sendBatch(group)
      else for (const q of group) this.single(q)
      group = []
      subjects = new Set()
    }
    for (const q of queued) {
      if (sizeOf(q) + BATCH_HEADER_ROOM > maxPayload) {
        this.single(q)
        continue
      }
      if (subjects.has(q.subject) || group.length >= this.o.maxBatch) send()
      group.push(q)
      subjects.add(q.subject)
    }
    send()
  }

  private single(q: Queued): void {
    this.inner.publish(q.subject, q.data, q.headers).then(q.resolve, () => q.resolve(MAYBE_STORED))
  }

  private sendBatch(members: readonly Queued[]): void {
    const commit = publishAtomicBatch(this.nc, this.inner, this.nextBatchId(), members)
    if (commit === undefined) {
      // The connection refused a member (closed, draining): nothing reached the commit, so nothing
      // of the batch can be stored (the server drops an uncommitted batch). One by one instead.
      for (const m of members) this.single(m)
      return
    }
    commit.then(
      (r) => this.settle(members, r),
      () => this.settle(members, MAYBE_STORED),
    )
  }

  private settle(members: readonly Queued[], r: PublishResult): void {
    const n = members.length
    if (r._tag === 'Stored' && !r.duplicate && r.batchCount === n) {
      members.forEach((m, k) => m.resolve({ _tag: 'Stored', seq: r.seq - n + 1 + k, duplicate: false }))
      return
    }
    if (r._tag === 'Stored' && r.batchCount === undefined) {
      // Not a batch ack: the server took the members as single publishes, and only the last one's ack came back.
      members.forEach((m, k) => m.resolve(k === n - 1 ? r : MAYBE_STORED))
      return
    }
    if (r._tag === 'NoResponders' || (r._tag === 'Rejected' && NOTHING_STORED.has(r.errCode))) {
      for (const m of members) this.single(m)
      return
    }
    for (const m of members) m.resolve(MAYBE_STORED)
  }
}
