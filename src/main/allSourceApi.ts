/** The public shape of an AllSource processor in this process: its options and its API, as `createAllSource` (allSource.ts) builds it. */
import type { NatsConnection } from '@nats-io/transport-node'
import type * as E from 'fp-ts/lib/Either.js'
import type { RunCounts, StreamSupervisor } from '../../actors/streams/streamSupervisor.js'
import type { StreamModule } from '../domain/streams/module.js'
import type { AppendResult } from '../application/streams/appendResult.js'
import type { StreamPage } from '../application/reading/readStream.js'
import type { AppendError } from '../application/streams/errors.js'
import type { raiseReplicas } from '../adapters/nats/log/replicas.js'
import type { ReplayedEvent, ReplayOptions } from '../adapters/nats/reading/replay.js'
import type { ProjectionRunner, ProjectionRunnerOptions } from '../adapters/nats/projections/projectionRunner.js'
import type { PipelineDefinition } from '../domain/pipelines/definition.js'
import type { ProjectionDefinition } from '../domain/projections/projection.js'
import type { QueryPage } from '../adapters/nats/reading/query.js'
import type { AnalyticsAnswer } from '../application/analytics/runAnalytics.js'
import type { AnalyticsReply } from '../domain/analytics/fold.js'
import type { Subscriptions, SubscriptionsOptions } from '../adapters/nats/reading/subscriptions.js'
import type { IngestProcessor } from '../adapters/nats/ingest/ingestProcessor.js'
import type { LeasedIngestOptions } from '../adapters/nats/ingest/leasedIngest.js'
import type { AsOf } from '../application/snapshots/snapshots.js'
import type { Snapshot } from '../application/streams/ports.js'
import type { GroupingOptions } from '../adapters/nats/log/groupingPublisher.js'
import type { AllSourceError } from '../adapters/nats/service/client.js'
import type { StreamService } from '../adapters/nats/service/streamService.js'
import type { PartitionRoutingOptions } from '../adapters/nats/service/partitionRouting.js'
import type { Endpoint, EndpointBase } from '../adapters/nats/service/endpoint.js'
import type { AppendCaller } from '../application/streams/appender.js'
import type { AppendCommand } from '../domain/streams/appendRequest.js'
import type { InFlightLimit } from '../adapters/nats/service/inFlightLimit.js'
import type { LogConsumerOptions, LogConsumers } from '../adapters/nats/reading/logConsumer.js'
import type { Logger, RequestContext, Tracing } from '../application/observability/ports.js'
import type { ProcessorMetrics } from '../adapters/metrics/processorMetrics.js'

export interface AllSourceOptions {
  /** The connection the processor serves on (its endpoints, ingest, projections, reads of clients). */
  readonly nc: NatsConnection
  /**
   * The connection the event log writes and loads on (default `nc`): its JetStream publishes and
   * their acks, duplicate lookups, stream and snapshot loads, and the read consumers shared with
   * queries. `npm start` opens one of its own (src/main/start.ts), so that under a flood of
   * requests the acks of appends already admitted do not queue behind the unread requests on the
   * serving socket: an admitted append completes at the log's pace, whatever waits on `nc`
   * (docs/reliability.md, "Overload"). Nothing else changes: the same account and stream, the same
   * exactly-once by commitId. The caller owns it (opens, drains and closes it after `close()`).
   */
  readonly logConnection?: NatsConnection
  /** Domain modules by stream category; streams of other categories accept any valid event. */
  readonly modules?: readonly StreamModule[]
  /** Subject prefix. Default `allsource`. */
  readonly prefix?: string
  /**
   * Replicas of every stream and KV bucket the processor creates (default 1): the log, ingest and
   * dead letters, leases, snapshots, the event-id index, projection control and read models. An
   * existing one with fewer is raised to this on start (see {@link raiseReplicas}); with more, it is
   * left alone.
   */
  readonly replicas?: number
  /** Exactly-once window for commitIds. Default 120000 (2 min). */
  readonly duplicateWindowMs?: number
  readonly maxEventsPerCommit?: number
  readonly maxResidentStreams?: number
  readonly idleTimeoutMs?: number
  readonly maxMailbox?: number
  /**
   * Most requests this processor serves at once, over all endpoints on `nc` (default 5000); past
   * it a request is answered UNAVAILABLE (503, `retryAfterMs`) at once instead of queueing.
   */
  readonly maxInFlight?: number
  /** Work let in flight, in ms at the measured completion rate (default 2000; 0: the fixed `maxInFlight` only). */
  readonly maxQueueMs?: number
  /**
   * Route appends by partition (docs/operations.md, "Several processors"): `serve()` also listens on
   * the routed subjects of the partitions this instance owns among the live instances. `partitions`
   * must equal the server's `{{partition(n,1,2)}}` mapping; `member` names this instance (a KV key
   * token, unique); `ttlMs` (default 3000) is how long a silent instance keeps its partitions.
   * Without it, or against a server without the mapping, every instance serves every stream.
   */
  readonly routing?: Pick<PartitionRoutingOptions, 'partitions' | 'member' | 'ttlMs' | 'handoffMs' | 'heartbeatConnection'>
  /**
   * Lease, retirement and chunk settings for the projections this instance runs. Background
   * failures they survive (a control watch reopened, a generation not retired) go to `onError`,
   * by default to `warn`.
   */
  readonly projectionOptions?: Omit<ProjectionRunnerOptions, 'prefix'>
  readonly publishTimeoutMs?: number
  /**
   * How long an append keeps re-publishing what a leader election answers (a timeout, no
   * responders, "temporarily unavailable") with the same commitId before it answers UNAVAILABLE;
   * default 10000. See `docs/writing.md`, Appends during a leader election.
   */
  readonly appendDeadlineMs?: number
  /**
   * Group the commits of different streams that are ready within one turn of the event loop into
   * JetStream atomic batches (`ALLSOURCE_GROUP_COMMITS=1`; default off): with `sync_interval:
   * always`, one fsync per batch instead of one per commit. Needs nats-server >= 2.12 (older: a
   * warning, and no grouping) and sets `allow_atomic` on `ALLSOURCE_EVENTS`. Per-stream optimistic
   * concurrency and exactly-once by commitId are unchanged (docs/writing.md, "Grouped commits").
   */
  readonly groupCommits?: boolean | Partial<GroupingOptions>
  /**
   * Runs (`ALLSOURCE_RUNS`; default on): when `min` (10) or more appends are queued behind each
   * other in one stream's actor, they go to the log as one JetStream atomic batch of that stream
   * (at most `max`, 250), each decided against the state the ones before it leave; a run the log
   * refuses is written again one commit at a time, so every append gets the answer it would have
   * had alone (docs/writing.md, "Runs"). Needs nats-server >= 2.12 (older: off) and sets
   * `allow_atomic` on `ALLSOURCE_EVENTS`. `false`: one commit per write.
   */
  readonly runs?: boolean | { readonly min?: number; readonly max?: number }
  /** Snapshot module streams every this many events into KV `ALLSOURCE_SNAPSHOTS` (default 100; 0 = never). */
  readonly snapshotEvery?: number
  /** The processor's budget of ephemeral log consumers (cap, wait for a slot, inactivity threshold, bytes per pull). */
  readonly consumers?: Partial<LogConsumerOptions>
  /**
   * Looking a retried commitId up in the log (see `docs/writing.md`): how long one lookup may take
   * before the append answers UNAVAILABLE with the commitId (default 5000 ms), and how many run at
   * once (default 8).
   */
  readonly commitLookup?: { readonly timeoutMs?: number; readonly concurrency?: number }
  /**
   * Commits one query request may examine before it answers the page so far with `nextOffset`
   * (default 20,000; docs/querying.md).
   */
  readonly queryScanBudget?: number
  /** Events one analytics request may read from the log (default 1,000,000; more is `TOO_LARGE`). */
  readonly analyticsScanLimit?: number
  /**
   * How long an analytics request of a shape the `event-frequency` read model answers waits, at
   * most, for the projection to reach the log's end before it scans instead (default 2000 ms;
   * docs/analytics.md). The read model is used only while `event-frequency` runs in this process.
   */
  readonly analyticsReadModelWaitMs?: number
  readonly warn?: (message: string) => void
  /** Informational lines (a stream's replicas raised); default: none. */
  readonly info?: (message: string) => void
  /**
   * Structured logs: failures answered 5xx with their request ids, slow requests at debug, and the
   * warnings (`warn` defaults to its `warn`). Default: none (warnings to the console).
   */
  readonly logger?: Logger
  /**
   * Prometheus metrics (`createProcessorMetrics`): appends are observed as they are answered, and the
   * processor's actors, mailboxes, in-flight requests, projections and ingest are sampled on scrape.
   */
  readonly metrics?: ProcessorMetrics
  /** Spans `allsource.append`, `stream.actor`, `jetstream.publish`, `projection.fold`; default off (`noTracing`). */
  readonly tracing?: Tracing
  /**
   * Auth mode (docs/security.md): every append, ingest, read, query and projection read admits the
   * tenant first (from memory: `admit` must not read a store per request), tenant endpoints drop
   * requests whose reply is outside `_INBOX.<tenant>.`, and `endpoints` (the admin API) are
   * served and announced alongside.
   */
  readonly auth?: {
    readonly admit: (tenant: string) => Promise<E.Either<AppendError, unknown>>
    /**
     * Appends (service and ingest) go through this instead of `admit` then append when given: it
     * admits, checks (policies, quotas, rates: in memory, but for the `streams` quota's cached count), and calls `append` or answers the
     * refusal. `caller` is what the door knows of who asks (absent for ingest).
     */
    readonly guardAppend?: (
      command: AppendCommand,
      caller: AppendCaller | undefined,
      append: () => Promise<E.Either<AppendError, AppendResult>>,
    ) => Promise<E.Either<AppendError, AppendResult>>
    readonly endpoints?: (base: EndpointBase) => readonly Endpoint[]
    /** Asked before `subscriptions.create` makes a durable subscription (auth mode: the tenant's `projections` quota). */
    readonly beforeSubscriptionCreate?: SubscriptionsOptions['beforeCreate']
    /** Told of every request a tenant endpoint drops unanswered (auth mode audits them). */
    readonly onDropped?: EndpointBase['onDropped']
  }
}

export interface AppendInput {
  readonly type: string
  readonly payload: unknown
  readonly metadata?: Readonly<Record<string, unknown>>
  readonly id?: string
}

/** An AllSource processor in this process. */
export interface AllSource {
  /** Appends events as one atomic commit through the stream's actor. Never rejects. */
  append(
    tenant: string,
    stream: string,
    events: readonly AppendInput[],
    options?: {
      readonly expectedVersion?: number | 'any' | 'no_stream' | 'exists'
      readonly commitId?: string
      /**
       * The caller's request id (1–128 printable ASCII without spaces; another value is replaced by
       * a fresh one) and W3C `traceparent`: the commit carries them as headers, and the
       * `allsource.append` span is a child of `traceparent`.
       */
      readonly context?: RequestContext
    },
  ): Promise<E.Either<AppendError, AppendResult>>
  /** One page of a stream in version order (`fromVersion` default 1, `limit` default 1000, max 10000). */
  read(tenant: string, stream: string, options?: { readonly fromVersion?: number; readonly limit?: number }): Promise<E.Either<AppendError, StreamPage>>
  /**
   * Replays a tenant's events from an offset or a time, in log order, with backpressure; stops at
   * the end of the log as of the call unless `follow` is set. Throws an {@link AllSourceError}
   * `INVALID_ID` at once for a tenant or stream that is not a valid id (a `*` or `>` would widen
   * the subject filter to other tenants or streams).
   */
  replay(options: Omit<ReplayOptions, 'prefix' | 'streamName'>): AsyncIterableIterator<ReplayedEvent>
  /**
   * Snapshots a module stream now (its state at its current head); undefined for an empty stream.
   * BAD_REQUEST for a stream whose category has no module.
   */
  snapshot(tenant: string, stream: string): Promise<E.Either<AppendError, Snapshot | undefined>>
  /** A module stream's state as of a version or a time (a fold from its start up to there). */
  stateAt(tenant: string, stream: string, asOf: AsOf): Promise<E.Either<AppendError, { readonly state: unknown; readonly version: number }>>
  /** Sends a command to the stream category's decider; what it decides is appended atomically. */
  execute(tenant: string, stream: string, command: unknown, options?: { readonly commitId?: string }): Promise<E.Either<AppendError, AppendResult>>
  /**
   * Starts durable ingest: appends what clients publish to `allsource.ingest.<tenant>.<stream>`,
   * in publish order per stream, exactly once; invalid messages go to the DLQ. By default it runs
   * only while this instance holds the `ingest` lease, so every instance may be started with
   * ingest on; `lease: false` runs it at once (a single instance). `maxAttempts` (default 5):
   * attempts at a message failing with INTERNAL before it goes to the DLQ.
   */
  startIngest(options?: { readonly lease?: false | Omit<LeasedIngestOptions, 'log'>; readonly maxAttempts?: number }): Promise<IngestProcessor & { readonly active: boolean }>
  /** Queries a tenant's log: `{ id?, stream?, type?, since?, until?, fromOffset?, limit? }`. */
  query(tenant: string, request: Record<string, unknown>): Promise<E.Either<AppendError, QueryPage>>
  /**
   * Runs an analytics request (`frequency|summary|funnel|retention|correlation|anomalies`) over a
   * tenant's log, as `allsource.analytics.<tenant>.<kind>` does (docs/analytics.md).
   */
  analytics(tenant: string, kind: string, request?: unknown): Promise<E.Either<AppendError, AnalyticsReply>>
  /** {@link analytics}, with how it was answered: `source` (`read-model` or `scan`) and, for a scan the read model could not spare, `fallback` (why). */
  analyticsAnswer(tenant: string, kind: string, request?: unknown): Promise<E.Either<AppendError, AnalyticsAnswer>>
  /** Keeps the supplied-id index (`ALLSOURCE_SUPPLIED_IDS`: the event ids a lookup by time cannot find) in step with the log, off the write path. */
  startIdIndexer(): Promise<{ stop(): Promise<void> }>
  /** Starts folding projections into their read models (built-ins or your own definitions). */
  startProjections(definitions: readonly ProjectionDefinition<unknown>[]): Promise<readonly ProjectionRunner[]>
  /**
   * Starts pipelines defined in TypeScript (docs/pipelines.md): each runs as a projection of the
   * same name. Pipelines defined as JSON through the admin API are run by `serve()`.
   */
  startPipelines(definitions: readonly PipelineDefinition[]): Promise<readonly ProjectionRunner[]>
  /**
   * Serves `allsource.append.*.*` (with micro discovery) on the connection, and the pipeline admin
   * API; runs the pipelines stored through it; resolves once subscribed.
   */
  serve(): Promise<StreamService>
  readonly supervisor: StreamSupervisor
  /** Appends the log refused since start because another writer (another instance) moved the stream on; each cost a reload. */
  conflicts(): number
  /**
   * Runs written since start (with `groupCommits`: a busy stream's queued commits as one atomic
   * batch): stored, not stored (each commit then written on its own), and commits stored in runs.
   */
  runs(): RunCounts
  /** Requests being served now, the cap (`maxInFlight`), the limit now and how busy the event loop was in the last window. */
  readonly requests: Pick<InFlightLimit, 'inFlight' | 'max' | 'refused' | 'limit' | 'ratePerSecond' | 'lastRefusedAt' | 'busy'>
  /** Durable named subscriptions on the log: create, position, reset, open, remove. */
  readonly subscriptions: Subscriptions
  /** The processor's ephemeral log consumers: every read, query, replay and hydration holds one while it runs. */
  readonly consumers: LogConsumers
  /** The consumers of in-process replays: a budget of their own, so long `follow` replays never starve requests. */
  readonly replayConsumers: LogConsumers
  /**
   * Stops taking requests (the endpoints' subscriptions drain) and resolves once every request
   * already taken is answered. Ingest, projections and indexing go on until `close()`.
   */
  stopServing(): Promise<void>
  /** Stops serving, answers everything accepted, then releases the log. Leaves `nc` open. */
  close(): Promise<void>
}
