import { jetstreamManager } from '@nats-io/jetstream'
import type * as E from 'fp-ts/lib/Either.js'
import * as Ei from 'fp-ts/lib/Either.js'
import { StreamSupervisor } from '../../actors/streams/streamSupervisor.js'
import { defaultAppendLimits, validateAppendRequest, validateStream, validateTenant } from '../domain/streams/appendRequest.js'
import { categoryOf, CommitId } from '../domain/streams/ids.js'
import { partitionOf } from '../domain/routing/partitions.js'
import { moduleRegistry } from '../domain/streams/module.js'
import { badRequest, invalidId } from '../domain/streams/errors.js'
import { readStream } from '../application/reading/readStream.js'
import { validateReadRequest } from '../domain/reading/readRequest.js'
import { EVENT_STREAM, ensureEventStream, supportsAtomicBatches } from '../adapters/nats/log/eventStream.js'
import { describeReplicaChange, raiseReplicas } from '../adapters/nats/log/replicas.js'
import { replayEvents } from '../adapters/nats/reading/replay.js'
import { createKvSnapshotStore } from '../adapters/nats/log/kvSnapshotStore.js'
import { type ProjectionRunner, startProjection } from '../adapters/nats/projections/projectionRunner.js'
import { createProjectionReader, type ProjectionReader } from '../adapters/nats/projections/projectionReader.js'
import { startProjectionEndpoints } from '../adapters/nats/projections/projectionEndpoints.js'
import { startPipeline } from '../adapters/nats/pipelines/pipelineRunner.js'
import { hostPipelines, openPipelineCatalog, type PipelineHost } from '../adapters/nats/pipelines/pipelineCatalog.js'
import { startPipelineEndpoints } from '../adapters/nats/pipelines/pipelineEndpoints.js'
import type { PipelineDefinition } from '../domain/pipelines/definition.js'
import { compilePipeline } from '../domain/pipelines/pipeline.js'
import { isProjectionName, type ProjectionDefinition } from '../domain/projections/projection.js'
import { LEGACY_ID_INDEX_BUCKET, legacyIndexPresent, openEventIdIndex, startEventIdIndexer } from '../adapters/nats/reading/eventIdIndex.js'
import { createQuery } from '../adapters/nats/reading/query.js'
import { createAnalyticsScan } from '../adapters/nats/analytics/analyticsScan.js'
import { startAnalyticsEndpoint } from '../adapters/nats/analytics/analyticsEndpoint.js'
import { type AnalyticsAnswer, answerAnalytics } from '../application/analytics/runAnalytics.js'
import { createFrequencyReadModel } from '../adapters/nats/analytics/frequencyReadModel.js'
import { eventFrequency } from '../domain/projections/builtins.js'
import { validateQueryRequest } from '../domain/reading/queryRequest.js'
import { createSubscriptions } from '../adapters/nats/reading/subscriptions.js'
import { type IngestProcessor, startIngestProcessor } from '../adapters/nats/ingest/ingestProcessor.js'
import { startLeasedIngest } from '../adapters/nats/ingest/leasedIngest.js'
import { stateAsOf, takeSnapshot } from '../application/snapshots/snapshots.js'
import { createJetStreamEventLog, defaultEventLogOptions } from '../adapters/nats/log/jetStreamEventLog.js'
import { GroupingPublisher } from '../adapters/nats/log/groupingPublisher.js'
import { defaultRunOptions } from '../adapters/nats/log/runWriter.js'
import { PipelinedPublisher } from '../adapters/nats/log/pipelinedPublisher.js'
import { AllSourceError } from '../adapters/nats/service/client.js'
import { toWireError } from '../adapters/nats/service/errorCodes.js'
import { type StreamService, startStreamService } from '../adapters/nats/service/streamService.js'
import type { Appender } from '../application/streams/appender.js'
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_QUEUE_MS, limitInFlight } from '../adapters/nats/service/inFlightLimit.js'
import { systemClock, uuidv7Ids } from '../adapters/system/systemClock.js'
import { createLogConsumers } from '../adapters/nats/reading/logConsumer.js'
import { defaultPrefix } from '../adapters/nats/subjects.js'
import { type AppendObserver, noTracing } from '../application/observability/ports.js'
import { libraryAppend, observedAppender } from './observedAppends.js'
import { ingestBacklog } from '../adapters/nats/ingest/ingestBacklog.js'
import type { AllSource, AllSourceOptions } from './allSourceApi.js'

export type { AllSource, AllSourceOptions, AppendInput } from './allSourceApi.js'

/** Auth mode's appends: the guard, then the supervisor; no `async` wrapper (one promise hop less per append). */
const guardedAppend =
  (guard: NonNullable<NonNullable<AllSourceOptions['auth']>['guardAppend']>, supervisor: StreamSupervisor): Appender['append'] =>
  (command, caller) =>
    guard(command, caller, () => supervisor.append(command, caller?.context))

/**
 * Wires a processor: the event stream, the JetStream log, the stream supervisor, snapshots and the
 * query index; serving, ingest and indexing start when asked (`serve`, `startIngest`,
 * `startIdIndexer`). The log is always `ALLSOURCE_EVENTS` (DESIGN.md); `prefix` moves the subjects.
 */
export const createAllSource = async (o: AllSourceOptions): Promise<AllSource> => {
  const prefix = o.prefix ?? defaultPrefix
  const grouping = o.groupCommits === undefined || o.groupCommits === false ? undefined : o.groupCommits === true ? {} : o.groupCommits
  const atomic = supportsAtomicBatches(o.nc)
  const group = grouping !== undefined && atomic
  if (grouping !== undefined && !group) (o.warn ?? console.warn)(`nats-server ${o.nc.info?.version ?? '?'} has no atomic batch publish (2.12+): commits are not grouped`)
  // Runs (on unless `runs: false`, where the server has atomic batches): a busy stream's queued commits as one batch.
  const runOptions = o.runs === false || !atomic ? undefined : o.runs === true || o.runs === undefined ? {} : o.runs
  const runs = runOptions === undefined ? undefined : { min: runOptions.min ?? defaultRunOptions.min, max: runOptions.max ?? defaultRunOptions.max }
  const streamOptions = {
    name: EVENT_STREAM,
    prefix,
    duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
    replicas: o.replicas ?? 1,
  }
  const jsm = await jetstreamManager(o.nc)
  await ensureEventStream(o.nc, jsm, { ...streamOptions, allowAtomic: group || runs !== undefined }, o.warn)
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
  const supervisor = new StreamSupervisor({
    log,
    modules,
    ...(snapshots !== undefined ? { snapshots, snapshotEvery } : {}),
    onSnapshotError: (e) => warn(`snapshot not saved: ${e instanceof Error ? e.message : String(e)}`),
    clock: systemClock,
    ids: uuidv7Ids,
    ...(o.maxResidentStreams !== undefined ? { maxResident: o.maxResidentStreams } : {}),
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    ...(o.maxMailbox !== undefined ? { maxMailbox: o.maxMailbox } : {}),
    ...(runs !== undefined ? { runs } : {}),
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
    conflicts: () => supervisor.conflicts,
    runs: () => supervisor.runs(),
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
    conflicts: () => supervisor.conflicts,
    runs: () => supervisor.runs(),
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
