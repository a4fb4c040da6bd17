import type { NatsConnection } from '@nats-io/transport-node'
import type { Commit } from '../../../domain/streams/event.js'
import type { RunOutcome, StoredCommit } from '../../../application/streams/ports.js'
import type { RequestContext } from '../../../application/observability/ports.js'
import { BATCH_HEADER_ROOM, type BatchMember, batchIds, NOTHING_STORED, publishAtomicBatch } from './groupingPublisher.js'
import type { Publisher, PublishResult } from './pipelinedPublisher.js'
import type { WireHeaders } from './wireHeaders.js'

/**
 * When a stream's queued commits go as a run: at least `min` (10) and at most `max` (250, what one
 * process's CPU handles per batch; nats-server's own limit is 1,000). Measured on one replica with
 * `sync_interval: always`: a batch's staging costs about as much as 7 to 8 single commits of one
 * stream (which go one at a time), so runs of 7 were slower than single commits and runs of 15
 * 1.7-2× faster (docs/performance.md, "Runs").
 */
export const defaultRunOptions = { min: 10, max: 250 } as const

/** What writing a run needs of the event log it belongs to (jetStreamEventLog.ts). */
export interface RunWriterDeps {
  readonly nc: NatsConnection
  readonly publisher: Publisher
  readonly subject: (commit: Commit) => string
  readonly encode: (commit: Commit) => Uint8Array
  /** A commit's headers; `expectedLastOffset` undefined: no expectation (a later member of the run). */
  readonly headers: (commit: Commit, expectedLastOffset: number | undefined, context: RequestContext | undefined) => WireHeaders
  readonly maxPayload: () => number
  /** The commit stored under `commit`'s commitId on its stream, by reading; rejects when the log cannot tell. */
  readonly lookup: (commit: Commit) => Promise<StoredCommit | undefined>
  /** Whether a stored commit is this one (not an older commit under the same commitId). */
  readonly sameCommit: (stored: Commit, mine: Commit) => boolean
  /** How long a run whose write timed out is tried again (same members, same `Nats-Msg-Id`s). */
  readonly deadlineMs: number
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const reasonOf = (r: PublishResult): string =>
  r._tag === 'Rejected' ? `${r.description} (${r.errCode})` : r._tag === 'Stored' ? `an unexpected acknowledgement (seq ${r.seq}, count ${r.batchCount ?? 'none'})` : r._tag === 'TimedOut' ? 'no acknowledgement' : 'no responders'

/**
 * Writes runs of commits of one stream as JetStream atomic batches (nats-server ≥ 2.12,
 * `allow_atomic`): one message per commit, each with its own `Nats-Msg-Id`, the first with
 * `Nats-Expected-Last-Subject-Sequence` (the server refuses that header on a later message of a
 * subject already in the batch; the batch being atomic and the first member checked, the others
 * follow it with nothing in between).
 *
 * Guarantees ({@link RunOutcome}):
 * - `Appended`: every commit stored once, contiguously, in order (offsets from the batch's ack).
 * - `NotStored`: nothing of the run is stored (a refusal the server makes before storing, no
 *   responders, a member too large for a run, the connection refusing the batch); the caller
 *   writes the commits one by one, and each gets the answer it would have got alone.
 * - After an attempt timed out the run may be stored: it is sent again with the same
 *   `Nats-Msg-Id`s until `deadlineMs`; what a later attempt meets (a duplicate id, a wrong last
 *   sequence, an unexpected ack) is settled by reading the stored commits: all found and ours is
 *   `Appended`, none found is `NotStored`, anything else (or no answer by the deadline) is
 *   `Unavailable` ("may be stored; retry with the same commitIds").
 */
export const createRunWriter = (d: RunWriterDeps): ((commits: readonly Commit[], expectedLastOffset: number, contexts: readonly (RequestContext | undefined)[]) => Promise<RunOutcome>) => {
  const nextBatchId = batchIds()

  /** Whether the run is stored, by reading each commit. */
  const byReading = async (commits: readonly Commit[]): Promise<RunOutcome> => {
    let found: (StoredCommit | undefined)[]
    try {
      found = await Promise.all(commits.map((c) => d.lookup(c)))
    } catch (e) {
      return { _tag: 'Unavailable', message: `could not read whether the run is stored: ${messageOf(e)}` }
    }
    if (found.every((f, i) => f !== undefined && d.sameCommit(f.commit, commits[i] as Commit))) return { _tag: 'Appended', offsets: found.map((f) => (f as StoredCommit).offset) }
    if (found.every((f) => f === undefined)) return { _tag: 'NotStored', reason: 'a retried run was not stored' }
    return { _tag: 'Unavailable', message: 'part of a retried run is found under its commitIds, not all' }
  }

  return async (commits, expectedLastOffset, contexts) => {
    const n = commits.length
    const members: BatchMember[] = commits.map((c, i) => ({ subject: d.subject(c), data: d.encode(c), headers: d.headers(c, i === 0 ? expectedLastOffset : undefined, contexts[i]) }))
    const max = d.maxPayload()
    if (members.some((m) => m.data.length + (m.headers as WireHeaders).byteLength + BATCH_HEADER_ROOM > max)) return { _tag: 'NotStored', reason: 'a commit is too large for a run' }
    const deadline = Date.now() + d.deadlineMs
    let mayBeStored = false
    for (;;) {
      const sent = publishAtomicBatch(d.nc, d.publisher, nextBatchId(), members)
      if (sent === undefined) return mayBeStored ? byReading(commits) : { _tag: 'NotStored', reason: 'the connection refused the run' }
      const r = await sent
      if (r._tag === 'Stored' && !r.duplicate && r.batchCount === n) return { _tag: 'Appended', offsets: commits.map((_, i) => r.seq - n + 1 + i) }
      if (r._tag === 'TimedOut') {
        mayBeStored = true
        if (Date.now() >= deadline) return { _tag: 'Unavailable', message: `JetStream did not take the run of ${n} commits within ${d.deadlineMs} ms` }
        continue
      }
      if (r._tag === 'Stored' || mayBeStored) return byReading(commits)
      if (r._tag === 'NoResponders' || NOTHING_STORED.has(r.errCode)) return { _tag: 'NotStored', reason: reasonOf(r) }
      // Any other refusal might follow a partial store (a store error during the commit).
      return byReading(commits)
    }
  }
}
