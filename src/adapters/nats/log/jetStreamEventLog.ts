import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Commit } from '../../../domain/streams/event.js'
import type { StreamId, TenantId } from '../../../domain/streams/ids.js'
import type { AppendOutcome, EventLog, StoredCommit, StreamHead } from '../../../application/streams/ports.js'
import { emptyHead } from '../../../application/streams/ports.js'
import { decodeCommit, encodeCommit, typesHeader } from '../../codec/commitCodec.js'
import { defaultEventStreamOptions, type EventStreamOptions } from './eventStream.js'
import { PipelinedPublisher, type Publisher, type PublishResult } from './pipelinedPublisher.js'
import { subjects } from '../subjects.js'
import { WireHeaders } from './wireHeaders.js'
import { createRunWriter } from './runWriter.js'
import { GroupingPublisher } from './groupingPublisher.js'
import { createCommitLookup, ProbeFailed } from './commitLookup.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'
import { isRequestId, noTracing, type RequestContext, type Tracing } from '../../../application/observability/ports.js'

/** What a `traceparent` header may hold: printable ASCII, bounded (the tracer parses it when read). */
const TRACEPARENT_TEXT = /^[!-~]{1,256}$/

export interface JetStreamEventLogOptions extends EventStreamOptions {
  /** How long one publish waits for its ack before it is retried. */
  readonly publishTimeoutMs: number
  /**
   * How long an append keeps re-publishing (same bytes, same `Nats-Msg-Id`, backing off from 100 ms
   * to 1 s) while JetStream cannot take it: an ack that timed out, no responders, or a refusal that
   * says "try again" (see {@link isTransientRejection}), as during a leader election. It answers
   * `Unavailable` only once the deadline has passed; as an attempt in flight is awaited, that is at
   * most this plus one `publishTimeoutMs` after its first publish. Default 10000
   * (`ALLSOURCE_APPEND_DEADLINE_MS`).
   */
  readonly appendDeadlineMs: number
  /** How long one lookup of a commitId (see {@link JetStreamEventLog.findDuplicate}) may take, queueing included. */
  readonly probeTimeoutMs: number
  /** Most commitId lookups running at once; more wait for a turn (within `probeTimeoutMs`). */
  readonly maxConcurrentProbes: number
  /** The processor's budget of log consumers, shared with queries and replays; default: one of the log's own. */
  readonly consumers?: LogConsumers
  /** Spans `jetstream.publish` (a child of the append's `traceparent`); default off. */
  readonly tracing?: Tracing
}

/** Commit headers beside the contract's: the request that wrote it and its trace context (docs/observability.md). */
export const COMMIT_REQUEST_ID_HEADER = 'AllSource-Request-Id'
export const COMMIT_TRACEPARENT_HEADER = 'traceparent'

export const defaultEventLogOptions: JetStreamEventLogOptions = {
  ...defaultEventStreamOptions,
  publishTimeoutMs: 5_000,
  appendDeadlineMs: 10_000,
  probeTimeoutMs: 5_000,
  maxConcurrentProbes: 8,
}

/** JetStream's "wrong last sequence" (`Nats-Expected-Last-Subject-Sequence` did not hold). */
const WRONG_LAST_SEQUENCE = 10071
/**
 * Refusals that mean "not now" rather than "no": the JetStream system or the stream has no leader
 * (10008 temporarily unavailable, 10118 stream offline), or a new stream leader cannot check the
 * expected last subject sequence yet (10163, nats-server ≥ 2.11, for a few seconds after an
 * election). Nothing was stored; the same publish is tried again.
 */
const TRANSIENT_REJECTIONS: ReadonlySet<number> = new Set([10008, 10118, 10163])

/** Whether a JetStream refusal of a publish is worth repeating unchanged (see {@link TRANSIENT_REJECTIONS}). */
export const isTransientRejection = (r: PublishResult): boolean =>
  r._tag === 'Rejected' && (TRANSIENT_REJECTIONS.has(r.errCode) || (r.errCode !== 0 && /temporarily unavailable|not available|offline/i.test(r.description)))
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** True when `stored` is the very commit `mine` (same commitId, stream and first event id), not an older one. */
const sameCommit = (stored: Commit, mine: Commit): boolean =>
  stored.commitId === mine.commitId &&
  stored.tenant === mine.tenant &&
  stored.stream === mine.stream &&
  stored.events.length === mine.events.length &&
  stored.events[0]?.id === mine.events[0]?.id

export { ProbeFailed }

/** The JetStream implementation of {@link EventLog}: one message per commit on its stream's subject. */
export interface JetStreamEventLog extends EventLog {
  /** The `Nats-Msg-Id` (commitId) of the last commit on a stream, if any. */
  lastCommitId(tenant: string, stream: string): Promise<string | undefined>
  /** Stops the ack matcher; in-flight publishes resolve as unavailable. */
  close(): void
}

/**
 * Creates the event log over `ALLSOURCE_EVENTS` (which must exist: see `ensureEventStream`).
 * Appends are pipelined on `nc`. A commit carries its commitId as `Nats-Msg-Id`, so the server
 * stores it once inside the duplicate window. Which check the server makes first, dedupe or the
 * expected sequence, differs between versions and replica counts; nothing here depends on it: a
 * duplicate is recognised by reading the stored commit (commitId, stream, first event id), and
 * `findDuplicate` reads the stream's commits rather than publishing.
 */
export const createJetStreamEventLog = (
  nc: NatsConnection,
  options: Partial<JetStreamEventLogOptions> = {},
  /** The publish path; fault-injection tests wrap the real one. */
  publisher: Publisher = new PipelinedPublisher(nc, options.publishTimeoutMs ?? defaultEventLogOptions.publishTimeoutMs),
): JetStreamEventLog => {
  const o = { ...defaultEventLogOptions, ...options }
  const subj = subjects(o.prefix)
  // No API check: that is a request, and a rejected promise kept here would fail every later read (and go unobserved until one).
  const jsmP: Promise<JetStreamManager> = jetstreamManager(nc, { checkAPI: false })
  const js = jetstream(nc)
  const consumers = o.consumers ?? createLogConsumers(nc)

  const maxPayload = (): number => nc.info?.max_payload ?? 1024 * 1024

  /** From the stream's leader, as {@link lastOnLeader}: a replica behind it may not hold the commit yet. */
  const getMessage = async (query: { seq: number } | { last_by_subj: string }): Promise<StoredMsg | null> =>
    (await jsmP).streams.getMessage(o.name, query)

  /**
   * A stream's last commit from the stream's leader (the STREAM.MSG.GET API), never a direct get:
   * on a replicated stream a direct get may be served by a replica that is behind (cut off from its
   * peers, or not yet caught up), and a stale head makes a stream actor answer a wrong 409 ("the
   * stream is at 2" while it is at 3; seen in the chaos suite's route cut). During an election this
   * fails instead, and the append is answered UNAVAILABLE (retried), never wrongly.
   */
  const lastOnLeader = async (subject: string): Promise<StoredMsg | null> => (await jsmP).streams.getMessage(o.name, { last_by_subj: subject })

  const stored = (m: StoredMsg): StoredCommit => ({ offset: m.seq, commit: decodeCommit(m.data, m.seq) })

  const commitAt = async (seq: number): Promise<StoredCommit> => {
    const m = await getMessage({ seq })
    if (m === null) throw new Error(`commit at offset ${seq} is missing from ${o.name}`)
    return stored(m)
  }

  /** `expectedLastOffset` undefined: no expectation (a commit after the first of a run). */
  const commitHeaders = (commit: Commit, expectedLastOffset: number | undefined, requestId: string | undefined, traceparent: string | undefined): WireHeaders => {
    const first = commit.events[0]
    const last = commit.events[commit.events.length - 1]
    const h = WireHeaders.of(
      ['Nats-Msg-Id', commit.commitId],
      ['AllSource-First-Version', String(first?.version ?? 0)],
      ['AllSource-Last-Version', String(last?.version ?? 0)],
      ['AllSource-Types', typesHeader(commit.events)],
      ['Content-Type', 'application/msgpack'],
    )
    if (expectedLastOffset !== undefined) h.append('Nats-Expected-Last-Subject-Sequence', String(expectedLastOffset))
    // Validated where they entered (request ids) or made by the tracer; a header cannot break a commit.
    if (requestId !== undefined && isRequestId(requestId)) h.append(COMMIT_REQUEST_ID_HEADER, requestId)
    if (traceparent !== undefined && TRACEPARENT_TEXT.test(traceparent)) h.append(COMMIT_TRACEPARENT_HEADER, traceparent)
    return h
  }
  const tracing = o.tracing ?? noTracing

  const lookup = createCommitLookup({ jsm: jsmP, js, streamName: o.name, duplicateWindowMs: o.duplicateWindowMs, probeTimeoutMs: o.probeTimeoutMs, maxConcurrentProbes: o.maxConcurrentProbes, subjectOf: subj.events, lastOnLeader, commitAt, stored })

  /** Where a stored commit under `commit`'s commitId leaves `commit`: written (it is ours), or a duplicate of another. */
  const settledBy = (found: StoredCommit, commit: Commit, retried: boolean): AppendOutcome =>
    retried && sameCommit(found.commit, commit) ? { _tag: 'Appended', offset: found.offset } : { _tag: 'Duplicate', original: found }

  const outcomeOf = async (r: PublishResult, commit: Commit, retried: boolean): Promise<AppendOutcome | 'retry'> => {
    switch (r._tag) {
      case 'Stored':
        if (!r.duplicate) return { _tag: 'Appended', offset: r.seq }
        // After a timed-out attempt the duplicate may be that attempt, stored with its ack lost, or
        // an older commit under the same commitId (a client retry): only the stored commit tells.
        return settledBy(await commitAt(r.seq), commit, retried)
      case 'Rejected': {
        if (isTransientRejection(r)) return 'retry'
        if (r.errCode !== WRONG_LAST_SEQUENCE) return { _tag: 'Unavailable', message: `JetStream refused the commit: ${r.description}` }
        if (retried) {
          // An earlier attempt may have been stored and only its ack lost (a server that checks the
          // expected sequence before its dedupe answers so): look for the commitId.
          const found = await lookup(commit.commitId, commit.tenant, commit.stream)
          if (found !== undefined) return settledBy(found, commit, true)
        }
        const actual = /wrong last sequence: (\d+)/.exec(r.description)
        return actual?.[1] !== undefined ? { _tag: 'Conflict', actualLastOffset: Number(actual[1]) } : { _tag: 'Conflict' }
      }
      case 'NoResponders':
      case 'TimedOut':
        return 'retry'
      default: {
        const never: never = r
        return never
      }
    }
  }

  /** Why the last attempt did not settle, for the `Unavailable` answer. */
  const reasonOf = (r: PublishResult): string =>
    r._tag === 'TimedOut'
      ? `no acknowledgement within ${o.publishTimeoutMs} ms`
      : r._tag === 'NoResponders'
        ? `no responders for ${o.name}`
        : r._tag === 'Rejected'
          ? `${r.description} (${r.errCode})`
          : 'stored'

  /**
   * Turns a publish result into an outcome. What an election answers (a timeout, no responders, a
   * transient refusal) is published again, same bytes and `Nats-Msg-Id`, with backoff, until
   * `appendDeadlineMs` after the first attempt. Once an attempt timed out it may have been stored,
   * so what later attempts meet (a duplicate, a wrong last sequence) is checked against the stored
   * commit: our own commit counts as appended.
   */
  const settle = async (first: PublishResult, commit: Commit, subject: string, data: Uint8Array, h: WireHeaders, startedAt: number): Promise<AppendOutcome> => {
    const deadline = startedAt + o.appendDeadlineMs
    let r = first
    let mayBeStored = false
    for (let attempt = 0; ; attempt++) {
      let outcome: AppendOutcome | 'retry'
      try {
        outcome = await outcomeOf(r, commit, mayBeStored)
      } catch (e) {
        // Reading the stored commit failed: whether this commit is stored is not known.
        return { _tag: 'Unavailable', message: e instanceof ProbeFailed ? e.message : `could not read the stored commit: ${messageOf(e)}` }
      }
      if (outcome !== 'retry') return outcome
      if (r._tag === 'TimedOut') mayBeStored = true
      if (Date.now() >= deadline) {
        return { _tag: 'Unavailable', message: `JetStream did not take the commit within ${o.appendDeadlineMs} ms (${attempt + 1} attempt${attempt === 0 ? '' : 's'}; last: ${reasonOf(r)})` }
      }
      // A timed-out attempt has already waited; the others are answered at once, so back off (the
      // last pause ends at the deadline, for one more attempt there).
      const pause = r._tag === 'TimedOut' ? 0 : Math.min(1_000, 100 * 2 ** attempt, deadline - Date.now())
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause))
      r = await publisher.publish(subject, data, h)
    }
  }

  const writeRun = createRunWriter({
    nc,
    // A run is an atomic batch of its own: its commit message must not be grouped into another batch.
    publisher: publisher instanceof GroupingPublisher ? publisher.inner : publisher,
    subject: (commit) => subj.events(commit.tenant, commit.stream),
    encode: encodeCommit,
    headers: (commit, expectedLastOffset, context) => commitHeaders(commit, expectedLastOffset, context?.requestId, context?.traceparent),
    maxPayload,
    lookup: (commit) => lookup(commit.commitId, commit.tenant, commit.stream),
    sameCommit,
    deadlineMs: o.appendDeadlineMs,
  })


  return {
    async readHead(tenant: TenantId, stream: StreamId): Promise<StreamHead> {
      const m = await lastOnLeader(subj.events(tenant, stream))
      if (m === null) return emptyHead
      const header = m.header.get('AllSource-Last-Version')
      const version = header !== '' ? Number(header) : (stored(m).commit.events.at(-1)?.version ?? 0)
      return { version, lastOffset: m.seq }
    },

    async *readStream(tenant: TenantId, stream: StreamId, toOffset: number, fromOffset = 1): AsyncIterable<StoredCommit> {
      if (toOffset <= 0 || fromOffset > toOffset) return
      const lease = await consumers.open(o.name, {
        filter_subjects: [subj.events(tenant, stream)],
        ...(fromOffset > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromOffset } : {}),
      })
      try {
        for await (const m of await lease.consume()) {
          yield { offset: m.seq, commit: decodeCommit(m.data, m.seq) }
          if (m.seq >= toOffset) break
        }
      } finally {
        lease.close()
      }
    },

    append(commit: Commit, expectedLastOffset: number, context?: RequestContext): Promise<AppendOutcome> {
      try {
        const data = encodeCommit(commit)
        const subject = subj.events(commit.tenant, commit.stream)
        const span = tracing.start('jetstream.publish', context?.traceparent, tracing.enabled ? { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'allsource.commit_id': commit.commitId } : undefined)
        const h = commitHeaders(commit, expectedLastOffset, context?.requestId, span.traceparent)
        const size = data.length + h.byteLength
        if (size > maxPayload()) {
          span.end('TooLarge')
          return Promise.resolve({ _tag: 'TooLarge', size, max: maxPayload() })
        }
        const startedAt = Date.now()
        // The common case settles in one step; anything else (duplicate, rejection, timeout) goes the long way.
        const outcome = publisher
          .publish(subject, data, h)
          .then((r): AppendOutcome | Promise<AppendOutcome> => (r._tag === 'Stored' && !r.duplicate ? { _tag: 'Appended', offset: r.seq } : settle(r, commit, subject, data, h, startedAt)))
        if (!tracing.enabled) return outcome
        return outcome.then(
          (r) => {
            span.end(r._tag === 'Appended' ? undefined : r._tag)
            return r
          },
          (e: unknown) => {
            span.end(messageOf(e))
            throw e
          },
        )
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)))
      }
    },

    findDuplicate(commit: Commit): Promise<StoredCommit | undefined> {
      return lookup(commit.commitId, commit.tenant, commit.stream)
    },

    async lastCommitId(tenant: string, stream: string): Promise<string | undefined> {
      const m = await lastOnLeader(subj.events(tenant, stream))
      return m === null ? undefined : m.header.get('Nats-Msg-Id')
    },

    appendRun: (commits, expectedLastOffset, contexts) => {
      if (!tracing.enabled) return writeRun(commits, expectedLastOffset, contexts)
      // One `jetstream.publish` span per commit (each a child of its own append's span), ended when the run settles.
      const spans = commits.map((c, i) =>
        tracing.start('jetstream.publish', contexts[i]?.traceparent, { 'messaging.system': 'nats', 'messaging.destination.name': subj.events(c.tenant, c.stream), 'allsource.commit_id': c.commitId, 'allsource.run_size': commits.length }),
      )
      const traced = contexts.map((c, i) => {
        const traceparent = spans[i]?.traceparent
        return { ...(c?.requestId !== undefined ? { requestId: c.requestId } : {}), ...(traceparent !== undefined ? { traceparent } : {}) }
      })
      return writeRun(commits, expectedLastOffset, traced).then(
        (r) => {
          for (const span of spans) span.end(r._tag === 'Appended' ? undefined : r._tag)
          return r
        },
        (e: unknown) => {
          for (const span of spans) span.end(messageOf(e))
          throw e
        },
      )
    },

    close: () => publisher.close(),
  }
}
