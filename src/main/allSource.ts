import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type * as E from 'fp-ts/lib/Either.js'
import * as Ei from 'fp-ts/lib/Either.js'
import { StreamSupervisor } from '../../actors/streams/streamSupervisor.js'
import { defaultAppendLimits, validateAppendRequest, validateStream, validateTenant } from '../domain/streams/appendRequest.js'
import { categoryOf, CommitId } from '../domain/streams/ids.js'
import { partitionOf } from '../domain/routing/partitions.js'
import { moduleRegistry, type StreamModule } from '../domain/streams/module.js'
import { badRequest, invalidId } from '../domain/streams/errors.js'
import type { AppendResult } from '../application/streams/appendResult.js'
import { readStream, type StreamPage } from '../application/reading/readStream.js'
import { validateReadRequest } from '../domain/reading/readRequest.js'
import type { AppendError } from '../application/streams/errors.js'
import { EVENT_STREAM, ensureEventStream, supportsAtomicBatches } from '../adapters/nats/log/eventStream.js'
import { describeReplicaChange, raiseReplicas } from '../adapters/nats/log/replicas.js'
import { replayEvents, type ReplayedEvent, type ReplayOptions } from '../adapters/nats/reading/replay.js'
import { createKvSnapshotStore } from '../adapters/nats/log/kvSnapshotStore.js'
import { type ProjectionRunner, type ProjectionRunnerOptions, startProjection } from '../adapters/nats/projections/projectionRunner.js'
import { createProjectionReader, type ProjectionReader } from '../adapters/nats/projections/projectionReader.js'
import { startProjectionEndpoints } from '../adapters/nats/projections/projectionEndpoints.js'
import { startPipeline } from '../adapters/nats/pipelines/pipelineRunner.js'
import { hostPipelines, openPipelineCatalog, type PipelineHost } from '../adapters/nats/pipelines/pipelineCatalog.js'
import { startPipelineEndpoints } from '../adapters/nats/pipelines/pipelineEndpoints.js'
import type { PipelineDefinition } from '../domain/pipelines/definition.js'
import { compilePipeline } from '../domain/pipelines/pipeline.js'
import { isProjectionName, type ProjectionDefinition } from '../domain/projections/projection.js'
import { LEGACY_ID_INDEX_BUCKET, legacyIndexPresent, openEventIdIndex, startEventIdIndexer } from '../adapters/nats/reading/eventIdIndex.js'
import { createQuery, type QueryPage } from '../adapters/nats/reading/query.js'
import { createAnalyticsScan } from '../adapters/nats/analytics/analyticsScan.js'
import { startAnalyticsEndpoint } from '../adapters/nats/analytics/analyticsEndpoint.js'
import { type AnalyticsAnswer, answerAnalytics } from '../application/analytics/runAnalytics.js'
import { createFrequencyReadModel } from '../adapters/nats/analytics/frequencyReadModel.js'
import { eventFrequency } from '../domain/projections/builtins.js'
import type { AnalyticsReply } from '../domain/analytics/fold.js'
import { validateQueryRequest } from '../domain/reading/queryRequest.js'
import { createSubscriptions, type Subscriptions, type SubscriptionsOptions } from '../adapters/nats/reading/subscriptions.js'
import { type IngestProcessor, startIngestProcessor } from '../adapters/nats/ingest/ingestProcessor.js'
import { type LeasedIngestOptions, startLeasedIngest } from '../adapters/nats/ingest/leasedIngest.js'
import { type AsOf, stateAsOf, takeSnapshot } from '../application/snapshots/snapshots.js'
import type { Snapshot } from '../application/streams/ports.js'
import { createJetStreamEventLog, defaultEventLogOptions } from '../adapters/nats/log/jetStreamEventLog.js'
import { GroupingPublisher, type GroupingOptions } from '../adapters/nats/log/groupingPublisher.js'
import { PipelinedPublisher } from '../adapters/nats/log/pipelinedPublisher.js'
import { AllSourceError } from '../adapters/nats/service/client.js'
import { toWireError } from '../adapters/nats/service/errorCodes.js'
import { type StreamService, startStreamService } from '../adapters/nats/service/streamService.js'
import type { PartitionRoutingOptions } from '../adapters/nats/service/partitionRouting.js'
import type { Endpoint, EndpointBase } from '../adapters/nats/service/endpoint.js'
import type { AppendCaller, Appender } from '../application/streams/appender.js'
import type { AppendCommand } from '../domain/streams/appendRequest.js'
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_QUEUE_MS, type InFlightLimit, limitInFlight } from '../adapters/nats/service/inFlightLimit.js'
import { systemClock, uuidv7Ids } from '../adapters/system/systemClock.js'
import { createLogConsumers, type LogConsumerOptions, type LogConsumers } from '../adapters/nats/reading/logConsumer.js'
import { defaultPrefix } from '../adapters/nats/subjects.js'
import { type AppendObserver, type Logger, noTracing, type RequestContext, type Tracing } from '../application/observability/ports.js'
import { countingConflicts, libraryAppend, observedAppender } from './observedAppends.js'
import type { ProcessorMetrics } from '../adapters/metrics/processorMetrics.js'
import { ingestBacklog } from '../adapters/nats/ingest/ingestBacklog.js'

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

/**
 * Wires a processor: the event stream, the JetStream log, the stream supervisor, snapshots and the
 * query index; serving, ingest and indexing start when asked (`serve`, `startIngest`,
 * `startIdIndexer`). The log is always `ALLSOURCE_EVENTS` (DESIGN.md); `prefix` moves the subjects.
 */
/** Auth mode's appends: the guard, then the supervisor; no `async` wrapper (one promise hop less per append). */
const guardedAppend =
  (guard: NonNullable<NonNullable<AllSourceOptions['auth']>['guardAppend']>, supervisor: StreamSupervisor): Appender['append'] =>
  (command, caller) =>
    guard(command, caller, () => supervisor.append(command, caller?.context))

export const createAllSource = async (o: AllSourceOptions): Promise<AllSource> => {
  const prefix = o.prefix ?? defaultPrefix
  const grouping = o.groupCommits === undefined || o.groupCommits === false ? undefined : o.groupCommits === true ? {} : o.groupCommits
  const group = grouping !== undefined && supportsAtomicBatches(o.nc)
  if (grouping !== undefined && !group) (o.warn ?? console.warn)(`nats-server ${o.nc.info?.version ?? '?'} has no atomic batch publish (2.12+): commits are not grouped`)
  const streamOptions = {
    name: EVENT_STREAM,
    prefix,
    duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
    replicas: o.replicas ?? 1,
  }
  const jsm = await jetstreamManager(o.nc)
  await ensureEventStream(o.nc, jsm, { ...streamOptions, allowAtomic: group }, o.warn)
  for (const change of await raiseReplicas(jsm, streamOptions.replicas)) {
    if (change._tag === 'Raised') o.info?.(describeReplicaChange(change))
    else (o.warn ?? console.warn)(describeReplicaChange(change))
  }
  // The log's writes and loads go over `logNc`; so do the reads sharing its consumer budget (queries).
  const logNc = o.logConnection ?? o.nc
  const consumers = createLogConsumers(logNc, o.consumers)
  const replayConsumers = createLogConsumers(o.nc, o.consumers)
  const tracing = o.tracing ?? noTracing
  const observer: AppendObserver | undefined = o.metrics
  const log = createJetStreamEventLog(logNc, {
    ...streamOptions,
    consumers,
    tracing,
    ...(o.publishTimeoutMs !== undefined ? { publishTimeoutMs: o.publishTimeoutMs } : {}),
    ...(o.appendDeadlineMs !== undefined ? { appendDeadlineMs: o.appendDeadlineMs } : {}),
    ...(o.commitLookup?.timeoutMs !== undefined ? { probeTimeoutMs: o.commitLookup.timeoutMs } : {}),
    ...(o.commitLookup?.concurrency !== undefined ? { maxConcurrentProbes: o.commitLookup.concurrency } : {}),
  }, group ? new GroupingPublisher(logNc, new PipelinedPublisher(logNc, o.publishTimeoutMs ?? defaultEventLogOptions.publishTimeoutMs), grouping) : undefined)
  const modules = moduleRegistry(o.modules ?? [])
  const snapshotEvery = o.snapshotEvery ?? 100
  const snapshots = snapshotEvery > 0 ? await createKvSnapshotStore(logNc, { replicas: streamOptions.replicas }) : undefined
  const logger = o.logger
  const warn = o.warn ?? (logger !== undefined ? (m: string) => logger.warn(m) : (m: string) => console.warn(m))
  // The stream actors append through this: it counts conflicts (another instance moved a stream on).
  const counted = countingConflicts(log)
  const supervisor = new StreamSupervisor({
    log: counted,
    modules,
    ...(snapshots !== undefined ? { snapshots, snapshotEvery } : {}),
    onSnapshotError: (e) => warn(`snapshot not saved: ${e instanceof Error ? e.message : String(e)}`),
    clock: systemClock,
    ids: uuidv7Ids,
    ...(o.maxResidentStreams !== undefined ? { maxResident: o.maxResidentStreams } : {}),
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    ...(o.maxMailbox !== undefined ? { maxMailbox: o.maxMailbox } : {}),
    tracing,
  })
  /** Partitions moved to or from this instance (routing): their idle stream actors passivate, so none serves from a stale head. */
  const movedPartitions =
    (count: number) =>
    (moved: ReadonlySet<number>): void =>
      void supervisor.passivateWhere((tenant, stream) => moved.has(partitionOf(tenant, stream, count)))
  const auth = o.auth
  // In auth mode every append (service or ingest) admits its tenant first; the library's own
  // `append`/`execute` calls are the embedding process's and go straight to the supervisor.
  const appender: Appender =
    auth === undefined
      ? { append: (command, caller) => supervisor.append(command, caller?.context) }
      : auth.guardAppend !== undefined
        ? { append: guardedAppend(auth.guardAppend, supervisor) }
        : {
            append: async (command, caller) => {
              const admitted = await auth.admit(command.tenant)
              return Ei.isLeft(admitted) ? admitted : supervisor.append(command, caller?.context)
            },
          }
  // Ingest's appends are observed here; the service observes its own at the endpoint.
  const ingestAppender = observedAppender(appender, observer, 'ingest')
  const append = libraryAppend({ supervisor, tracing, ...(observer !== undefined ? { observer } : {}), ...(o.logger !== undefined ? { logger: o.logger } : {}) })
  const requests = limitInFlight(o.nc, o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, o.maxQueueMs ?? DEFAULT_MAX_QUEUE_MS)
  const limits = { ...defaultAppendLimits, ...(o.maxEventsPerCommit !== undefined ? { maxEventsPerCommit: o.maxEventsPerCommit } : {}) }
  const services: StreamService[] = []
  const index = await openEventIdIndex(o.nc, streamOptions.replicas)
  const query = createQuery(o.nc, { prefix, index, consumers, ...(o.queryScanBudget !== undefined ? { scanBudget: o.queryScanBudget } : {}) })
  const indexers: { stop(): Promise<void> }[] = []
  const ingests: IngestProcessor[] = []
  const projections = new Map<string, { readonly def: ProjectionDefinition<unknown>; readonly runner: ProjectionRunner }>()
  const readers: ProjectionReader[] = []
  const pipelineHosts: PipelineHost[] = []
  /** The reader `enrich` stages and analytics read through (made on first need). */
  let sharedReader: Promise<ProjectionReader> | undefined
  const sharedProjectionReader = (): Promise<ProjectionReader> =>
    (sharedReader ??= createProjectionReader(o.nc, warn, consumers, streamOptions.replicas).then((r) => (readers.push(r), r)))
  const answerAnalyticsHere = answerAnalytics(
    createAnalyticsScan(o.nc, { prefix, consumers, ...(o.analyticsScanLimit !== undefined ? { scanLimit: o.analyticsScanLimit } : {}) }),
    createFrequencyReadModel(o.nc, {
      reader: sharedProjectionReader,
      // The built-in itself (so its read model is this fold's), neither paused nor failed (no use waiting).
      running: () => {
        const p = projections.get(eventFrequency.name)
        if (p?.def !== (eventFrequency as ProjectionDefinition<unknown>)) return false
        const state = p.runner.status().state
        return state !== 'paused' && state !== 'failed' && state !== 'stopped'
      },
      ...(o.analyticsReadModelWaitMs !== undefined ? { waitMs: o.analyticsReadModelWaitMs } : {}),
    }),
  )
  const runPipeline = async (def: PipelineDefinition): Promise<ProjectionRunner> =>
    startPipeline(o.nc, def, {
      prefix,
      onError: warn,
      tracing,
      replicas: streamOptions.replicas,
      ...o.projectionOptions,
      tenantReplies: auth !== undefined,
      ...(def.stages.some((st) => 'enrich' in st) ? { reader: await sharedProjectionReader() } : {}),
    })
  /** The module of a valid tenant/stream pair, or the typed error. */
  const moduleStream = (tenant: string, stream: string) => {
    const t = validateTenant(tenant)
    if (Ei.isLeft(t)) return t
    const s = validateStream(stream)
    if (Ei.isLeft(s)) return s
    const module = modules.get(categoryOf(s.right))
    if (module === undefined) return Ei.left(badRequest(`stream category "${categoryOf(s.right)}" has no domain module`))
    return Ei.right({ tenant: t.right, stream: s.right, module })
  }

  o.metrics?.watch({
    resident: () => supervisor.resident,
    mailbox: () => supervisor.mailboxDepth(),
    requests: () => requests,
    conflicts: () => counted.conflicts(),
    projections: () => [...projections.values()].map(({ runner }) => ({ name: runner.name, lag: runner.status().lag, folded: runner.folded() })),
    ingest: () => ingestBacklog(o.nc),
  })

  const stopServing = async (): Promise<void> => {
    await Promise.all(services.splice(0).map((s) => s.stop()))
  }

  return {
    supervisor,
    consumers,
    replayConsumers,
    requests,
    conflicts: () => counted.conflicts(),
    subscriptions: createSubscriptions(o.nc, prefix, o.auth?.beforeSubscriptionCreate !== undefined ? { beforeCreate: o.auth.beforeSubscriptionCreate } : {}),
    append(tenant, stream, events, options = {}) {
      const { context, ...request } = options
      return append(tenant, stream, context, () => validateAppendRequest(tenant, stream, { events, ...request }, limits))
    },
    async snapshot(tenant, stream) {
      const m = moduleStream(tenant, stream)
      if (Ei.isLeft(m)) return m
      if (snapshots === undefined) return Ei.left(badRequest('snapshots are off (snapshotEvery: 0)'))
      return Ei.right(await takeSnapshot(log, snapshots, m.right.module, m.right.tenant, m.right.stream, systemClock.now()))
    },
    async stateAt(tenant, stream, asOf) {
      const m = moduleStream(tenant, stream)
      if (Ei.isLeft(m)) return m
      return Ei.right(await stateAsOf(log, m.right.module, m.right.tenant, m.right.stream, asOf))
    },
    replay(options) {
      const t = validateTenant(options.tenant)
      const s = options.stream === undefined ? Ei.right(undefined) : validateStream(options.stream)
      const bad = Ei.isLeft(t) ? t.left : Ei.isLeft(s) ? s.left : undefined
      if (bad !== undefined) {
        const { code, message, ...details } = toWireError(bad)
        throw new AllSourceError(code, message, details)
      }
      return replayEvents(o.nc, { ...options, prefix, streamName: streamOptions.name, consumers: replayConsumers })
    },
    async read(tenant, stream, options = {}) {
      const t = validateTenant(tenant)
      if (Ei.isLeft(t)) return t
      const s = validateStream(stream)
      if (Ei.isLeft(s)) return s
      const req = validateReadRequest(options)
      if (Ei.isLeft(req)) return req
      return readStream(log, t.right, s.right, req.right)
    },
    execute(tenant, stream, command, options = {}) {
      const t = validateTenant(tenant)
      if (Ei.isLeft(t)) return Promise.resolve(t)
      const s = validateStream(stream)
      if (Ei.isLeft(s)) return Promise.resolve(s)
      if (options.commitId !== undefined && !CommitId.is(options.commitId)) {
        return Promise.resolve(Ei.left(invalidId('commitId', 'commitId must be 1–128 printable ASCII characters without spaces')))
      }
      return supervisor.execute(t.right, s.right, command, options.commitId)
    },
    async query(tenant, request) {
      const t = validateTenant(tenant)
      if (Ei.isLeft(t)) return t
      const q = validateQueryRequest(request)
      if (Ei.isLeft(q)) return q
      return query(t.right, q.right)
    },
    analytics: async (tenant, kind, request) => Ei.map((a: AnalyticsAnswer) => a.reply)(await answerAnalyticsHere(tenant, kind, request)),
    analyticsAnswer: (tenant, kind, request) => answerAnalyticsHere(tenant, kind, request),
    async startIdIndexer() {
      // Its own pool of one: the long-lived indexer never waits behind reads, nor they behind it.
      if (await legacyIndexPresent(o.nc)) {
        o.info?.(`event id index: bucket ${LEGACY_ID_INDEX_BUCKET} (a key per event, from an earlier version) is no longer used; once no older processor runs, delete it: nats kv del ${LEGACY_ID_INDEX_BUCKET}`)
      }
      const indexer = await startEventIdIndexer(o.nc, prefix, (e) => warn(`event id index: ${e instanceof Error ? e.message : String(e)}; retrying from its checkpoint`), createLogConsumers(o.nc, { ...o.consumers, max: 1 }), streamOptions.replicas)
      indexers.push(indexer)
      return indexer
    },
    async startIngest(options = {}) {
      const start = () =>
        startIngestProcessor(o.nc, ingestAppender, {
          duplicateWindowMs: streamOptions.duplicateWindowMs,
          prefix,
          limits,
          lastCommitId: (tenant, stream) => log.lastCommitId(tenant, stream),
          log: warn,
          replicas: streamOptions.replicas,
          ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
        })
      const ingest =
        options.lease === false
          ? Object.assign(await start(), { active: true })
          : await startLeasedIngest(o.nc, start, { owner: `${process.pid}-${Math.random().toString(36).slice(2, 8)}`, replicas: streamOptions.replicas, ...options.lease, log: warn })
      ingests.push(ingest)
      return ingest
    },
    async startProjections(definitions) {
      const started: ProjectionRunner[] = []
      for (const def of definitions) {
        if (!isProjectionName(def.name)) throw new Error(`projection name "${def.name}" is not 1–64 of A–Z a–z 0–9 _ -`)
        if (projections.has(def.name)) throw new Error(`projection "${def.name}" is already running`)
        const runner = await startProjection(o.nc, def, { prefix, onError: warn, tracing, replicas: streamOptions.replicas, ...o.projectionOptions })
        projections.set(def.name, { def, runner })
        started.push(runner)
      }
      return started
    },
    async startPipelines(definitions) {
      const started: ProjectionRunner[] = []
      for (const def of definitions) {
        if (projections.has(def.name)) throw new Error(`projection or pipeline "${def.name}" is already running`)
        const runner = await runPipeline(def)
        projections.set(def.name, { def: compilePipeline(def).projection as ProjectionDefinition<unknown>, runner })
        started.push(runner)
      }
      return started
    },
    async serve() {
      const reader = await createProjectionReader(o.nc, warn, consumers, streamOptions.replicas)
      readers.push(reader)
      const pipelineCatalog = await openPipelineCatalog(o.nc, { consumers, replicas: streamOptions.replicas })
      if (pipelineHosts.length === 0) pipelineHosts.push(await hostPipelines(o.nc, pipelineCatalog, runPipeline, warn))
      const service = await startStreamService(
        o.nc,
        appender,
        log,
        query,
        {
          prefix,
          limits,
          tenantReplies: auth !== undefined,
          tracing,
          ...(auth !== undefined ? { admit: auth.admit } : {}),
          ...(auth?.onDropped !== undefined ? { onDropped: auth.onDropped } : {}),
          ...(logger !== undefined ? { logger } : {}),
          ...(observer !== undefined ? { observer } : {}),
          ...(o.routing !== undefined ? { routing: { ...o.routing, replicas: streamOptions.replicas, log: o.info ?? warn, onMoved: movedPartitions(o.routing.partitions) } } : {}),
        },
        (base) => [...startProjectionEndpoints(o.nc, reader, base), startAnalyticsEndpoint(o.nc, answerAnalyticsHere, base), startPipelineEndpoints(o.nc, pipelineCatalog, reader.catalog, base), ...(auth?.endpoints?.(base) ?? [])],
      )
      services.push(service)
      return service
    },
    stopServing,
    async close() {
      await Promise.all([
        stopServing(),
        ...ingests.map((i) => i.stop()),
        ...indexers.map((i) => i.stop()),
        ...[...projections.values()].map((p) => p.runner.stop()),
        ...pipelineHosts.splice(0).map((h) => h.stop()),
      ])
      for (const r of readers) r.close()
      await supervisor.close()
      log.close()
    },
  }
}
