import { DeliverPolicy, jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Commit } from '../../../domain/streams/event.js'
import type { StreamId, TenantId } from '../../../domain/streams/ids.js'
import type { AppendOutcome, EventLog, StoredCommit, StreamHead } from '../../../application/streams/ports.js'
import { emptyHead } from '../../../application/streams/ports.js'
import { decodeCommit, encodeCommit, typesHeader } from '../../codec/commitCodec.js'
import { defaultEventStreamOptions, type EventStreamOptions } from './eventStream.js'
import { PipelinedPublisher, type Publisher, type PublishResult } from './pipelinedPublisher.js'
import { subjects } from './subjects.js'
import { WireHeaders } from './wireHeaders.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'

export interface JetStreamEventLogOptions extends EventStreamOptions {
  /** How long one publish waits for its ack before it is retried. */
  readonly publishTimeoutMs: number
  /** Retries of a timed-out publish (same bytes, same `Nats-Msg-Id`). */
  readonly publishRetries: number
  /** The processor's budget of log consumers, shared with queries and replays; default: one of the log's own. */
  readonly consumers?: LogConsumers
}

export const defaultEventLogOptions: JetStreamEventLogOptions = {
  ...defaultEventStreamOptions,
  publishTimeoutMs: 5_000,
  publishRetries: 2,
}

/** JetStream's "wrong last sequence" (`Nats-Expected-Last-Subject-Sequence` did not hold). */
const WRONG_LAST_SEQUENCE = 10071
/** An expected last subject sequence no stream reaches: the probe can only hit the dedupe check. */
const IMPOSSIBLE_SEQUENCE = String(Number.MAX_SAFE_INTEGER)

/** The JetStream implementation of {@link EventLog}: one message per commit on its stream's subject. */
export interface JetStreamEventLog extends EventLog {
  /** The `Nats-Msg-Id` (commitId) of the last commit on a stream, if any. */
  lastCommitId(tenant: string, stream: string): Promise<string | undefined>
  /** Stops the ack matcher; in-flight publishes resolve as unavailable. */
  close(): void
}

/**
 * Creates the event log over `ALLSOURCE_EVENTS` (which must exist: see `ensureEventStream`).
 * Appends are pipelined on `nc`; the server's dedupe (by `Nats-Msg-Id`) is checked before the
 * expected sequence, which is what makes a retried commit come back as a duplicate.
 */
export const createJetStreamEventLog = (
  nc: NatsConnection,
  options: Partial<JetStreamEventLogOptions> = {},
  /** The publish path; fault-injection tests wrap the real one. */
  publisher: Publisher = new PipelinedPublisher(nc, options.publishTimeoutMs ?? defaultEventLogOptions.publishTimeoutMs),
): JetStreamEventLog => {
  const o = { ...defaultEventLogOptions, ...options }
  const subj = subjects(o.prefix)
  const jsmP: Promise<JetStreamManager> = jetstreamManager(nc)
  const consumers = o.consumers ?? createLogConsumers(nc)

  const maxPayload = (): number => nc.info?.max_payload ?? 1024 * 1024

  const getMessage = async (query: { seq: number } | { last_by_subj: string }): Promise<StoredMsg | null> =>
    (await jsmP).direct.getMessage(o.name, query)

  const stored = (m: StoredMsg): StoredCommit => ({ offset: m.seq, commit: decodeCommit(m.data, m.seq) })

  const commitAt = async (seq: number): Promise<StoredCommit> => {
    const m = await getMessage({ seq })
    if (m === null) throw new Error(`commit at offset ${seq} is missing from ${o.name}`)
    return stored(m)
  }

  const commitHeaders = (commit: Commit, expectedLastOffset: number): WireHeaders => {
    const first = commit.events[0]
    const last = commit.events[commit.events.length - 1]
    return WireHeaders.of(
      ['Nats-Msg-Id', commit.commitId],
      ['Nats-Expected-Last-Subject-Sequence', String(expectedLastOffset)],
      ['AllSource-First-Version', String(first?.version ?? 0)],
      ['AllSource-Last-Version', String(last?.version ?? 0)],
      ['AllSource-Types', typesHeader(commit.events)],
      ['Content-Type', 'application/msgpack'],
    )
  }

  const outcomeOf = async (r: PublishResult, commit: Commit, retried: boolean): Promise<AppendOutcome | 'retry'> => {
    switch (r._tag) {
      case 'Stored':
        if (!r.duplicate) return { _tag: 'Appended', offset: r.seq }
        // After a timed-out attempt, the "duplicate" is that attempt of ours, stored with its ack lost.
        if (retried) return { _tag: 'Appended', offset: r.seq }
        return { _tag: 'Duplicate', original: await commitAt(r.seq) }
      case 'Rejected': {
        if (r.errCode !== WRONG_LAST_SEQUENCE) return { _tag: 'Unavailable', message: `JetStream refused the commit: ${r.description}` }
        if (retried) {
          // An earlier attempt may have been stored and only its ack lost.
          const last = await getMessage({ last_by_subj: subj.events(commit.tenant, commit.stream) })
          if (last !== null && last.header.get('Nats-Msg-Id') === commit.commitId) return { _tag: 'Appended', offset: last.seq }
        }
        const actual = /wrong last sequence: (\d+)/.exec(r.description)
        return actual?.[1] !== undefined ? { _tag: 'Conflict', actualLastOffset: Number(actual[1]) } : { _tag: 'Conflict' }
      }
      case 'NoResponders':
        return { _tag: 'Unavailable', message: `event log stream ${o.name} is not available (no responders)` }
      case 'TimedOut':
        return 'retry'
      default: {
        const never: never = r
        return never
      }
    }
  }

  /** Turns a publish result into an outcome, retrying a timed-out publish with the same bytes. */
  const settle = async (first: PublishResult, commit: Commit, subject: string, data: Uint8Array, h: WireHeaders): Promise<AppendOutcome> => {
    let r = first
    for (let attempt = 0; ; attempt++) {
      const outcome = await outcomeOf(r, commit, attempt > 0)
      if (outcome !== 'retry') return outcome
      if (attempt >= o.publishRetries) return { _tag: 'Unavailable', message: `JetStream did not acknowledge the commit in ${o.publishTimeoutMs} ms` }
      r = await publisher.publish(subject, data, h)
    }
  }

  return {
    async readHead(tenant: TenantId, stream: StreamId): Promise<StreamHead> {
      const m = await getMessage({ last_by_subj: subj.events(tenant, stream) })
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

    append(commit: Commit, expectedLastOffset: number): Promise<AppendOutcome> {
      try {
        const data = encodeCommit(commit)
        const h = commitHeaders(commit, expectedLastOffset)
        const size = data.length + h.byteLength
        if (size > maxPayload()) return Promise.resolve({ _tag: 'TooLarge', size, max: maxPayload() })
        const subject = subj.events(commit.tenant, commit.stream)
        // The common case settles in one step; anything else (duplicate, rejection, timeout) goes the long way.
        return publisher
          .publish(subject, data, h)
          .then((r) => (r._tag === 'Stored' && !r.duplicate ? { _tag: 'Appended', offset: r.seq } : settle(r, commit, subject, data, h)))
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)))
      }
    },

    async findDuplicate(commit: Commit): Promise<StoredCommit | undefined> {
      const h = WireHeaders.of(['Nats-Msg-Id', commit.commitId], ['Nats-Expected-Last-Subject-Sequence', IMPOSSIBLE_SEQUENCE])
      const r = await publisher.publish(subj.events(commit.tenant, commit.stream), new Uint8Array(0), h)
      if (r._tag === 'Stored' && r.duplicate) return commitAt(r.seq)
      if (r._tag === 'Rejected' && r.errCode === WRONG_LAST_SEQUENCE) return undefined
      throw new Error(`duplicate probe failed: ${r._tag === 'Rejected' ? r.description : r._tag}`)
    },

    async lastCommitId(tenant: string, stream: string): Promise<string | undefined> {
      const m = await getMessage({ last_by_subj: subj.events(tenant, stream) })
      return m === null ? undefined : m.header.get('Nats-Msg-Id')
    },

    close: () => publisher.close(),
  }
}
