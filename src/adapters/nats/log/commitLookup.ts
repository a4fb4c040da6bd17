import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'
import type { StoredCommit } from '../../../application/streams/ports.js'
import { semaphore } from '../../system/semaphore.js'

/**
 * How far before `now - duplicate window` a lookup starts reading: covers a clock of this process
 * that runs ahead of the server's. Reading a little more of one stream costs little.
 */
const WINDOW_SLACK_MS = 30_000
/** Commits (headers only) one lookup asks the server for at a time. */
const PROBE_BATCH = 1_024

/** A commitId lookup could not finish (timeout, no leader, no quorum): the commit may be stored. */
export class ProbeFailed extends Error {
  constructor(
    readonly commitId: string,
    reason: string,
  ) {
    super(`could not check whether commitId "${commitId}" is already stored (${reason}); it may be: retry with the same commitId`)
    this.name = 'ProbeFailed'
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Rejects with `why` once `deadline` passes, unless `p` settled first. */
const before = <T>(p: Promise<T>, deadline: number, why: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), Math.max(0, deadline - Date.now()))
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** What a lookup reads with: the event log's stream and its reads from the stream's leader (jetStreamEventLog.ts). */
export interface CommitLookupDeps {
  readonly jsm: Promise<JetStreamManager>
  readonly js: JetStreamClient
  readonly streamName: string
  readonly duplicateWindowMs: number
  readonly probeTimeoutMs: number
  readonly maxConcurrentProbes: number
  /** The subject of one AllSource stream's commits. */
  readonly subjectOf: (tenant: string, stream: string) => string
  readonly lastOnLeader: (subject: string) => Promise<StoredMsg | null>
  readonly commitAt: (seq: number) => Promise<StoredCommit>
  readonly stored: (m: StoredMsg) => StoredCommit
}

/**
 * Finds the commit stored under a commitId on one stream inside the duplicate window, by
 * reading, never by publishing: first the stream's last commit (one read from the leader, the
 * common case of a retry), then the `Nats-Msg-Id` headers of the stream's commits from
 * `now - window - slack` up to that last one, through a short-lived headers-only consumer. At
 * most `maxConcurrentProbes` run at once. Rejects with {@link ProbeFailed} when the server cannot
 * answer within `probeTimeoutMs` (queueing included): the commit may then be stored.
 */
export const createCommitLookup = (d: CommitLookupDeps): ((commitId: string, tenant: string, stream: string) => Promise<StoredCommit | undefined>) => {
  const probes = semaphore(d.maxConcurrentProbes)

  const scan = async (commitId: string, subject: string, deadline: number): Promise<StoredCommit | undefined> => {
    // From the stream's leader, not a direct get: on a replicated stream a direct get may be served
    // by a replica that has not yet stored the commit, and "not stored" would turn a retry of a
    // stored commit into a wrong 409 (seen in the chaos suite after a leader kill).
    const last = await d.lastOnLeader(subject)
    if (last === null) return undefined
    if (last.header.get('Nats-Msg-Id') === commitId) return d.stored(last)
    const from = Date.now() - d.duplicateWindowMs - WINDOW_SLACK_MS
    if (last.time.getTime() < from) return undefined // the stream has no commit inside the window
    const jsm = await d.jsm
    const info = await jsm.consumers.add(d.streamName, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(from).toISOString(),
      filter_subject: subject,
      headers_only: true,
      mem_storage: true,
      num_replicas: 1,
      // Removed below; should this process die first, the server drops it on its own.
      inactive_threshold: nanos(Math.max(5_000, d.probeTimeoutMs * 2)),
    })
    try {
      const consumer = await d.js.consumers.get(d.streamName, info.name)
      for (;;) {
        if (Date.now() > deadline) throw new Error('out of time')
        const batch = await consumer.fetch({ max_messages: PROBE_BATCH, expires: Math.max(1_000, deadline - Date.now()) })
        let seen = 0
        for await (const m of batch) {
          seen++
          if (m.headers?.get('Nats-Msg-Id') === commitId) {
            batch.stop()
            return await d.commitAt(m.seq)
          }
          if (m.seq >= last.seq) {
            batch.stop()
            return undefined
          }
        }
        if (seen === 0) throw new Error(`read of ${subject} stopped before offset ${last.seq}`)
      }
    } finally {
      jsm.consumers.delete(d.streamName, info.name).catch(() => undefined)
    }
  }

  return async (commitId, tenant, stream) => {
    const deadline = Date.now() + d.probeTimeoutMs
    try {
      const release = await probes.acquire(deadline - Date.now(), () => new Error('too many lookups in flight'))
      // The turn is given back when the read ends, not when the caller gives up on it.
      const read = scan(commitId, d.subjectOf(tenant, stream), deadline).finally(release)
      return await before(read, deadline, `no answer in ${d.probeTimeoutMs} ms`)
    } catch (e) {
      throw e instanceof ProbeFailed ? e : new ProbeFailed(commitId, messageOf(e))
    }
  }
}
