import type { NatsConnection } from '@nats-io/transport-node'
import { registeredModules } from './modules.js'
import { entityState, eventCounter, eventFrequency } from '../domain/projections/builtins.js'
import type { ProjectionDefinition } from '../domain/projections/projection.js'
import { createAllSource } from './allSource.js'
import { type Config, loadConfig } from './config.js'
import { connectToNats } from './connectToNats.js'
import { createShutdown } from './shutdown.js'
import { subjects } from '../adapters/nats/subjects.js'
import { startAuthPlane, type AuthPlane } from './auth/authPlane.js'
import { lineLog, loggerFromEnv } from '../adapters/logging/pinoLogger.js'
import { createProcessorMetrics } from '../adapters/metrics/processorMetrics.js'
import { tracingFromEnv } from '../adapters/tracing/tracingFromEnv.js'
import { type RunningGateway, startGateway } from './http/startGateway.js'
import { retryStartup } from './retryStartup.js'

/** Structured logs (docs/observability.md): JSON lines unless stdout is a terminal, or as ALLSOURCE_LOG_FORMAT says. */
const logger = loggerFromEnv()
const log = lineLog(logger)

/**
 * `npm start`: connects (or starts the embedded server), serves appends, and on SIGINT/SIGTERM
 * shuts down in order (src/main/shutdown.ts): stops taking requests, answers everything already
 * taken (within ALLSOURCE_SHUTDOWN_TIMEOUT_MS), closes the processor, drains the connection, stops
 * the embedded server, logs `stopped`. A second signal exits at once. Nothing is acknowledged
 * that JetStream did not store.
 */
const main = async (): Promise<void> => {
  const config = loadConfig()
  const session = await connectToNats(config, log)
  const { nc, server } = session
  log(`connected to ${session.where}; nats-server ${nc.info?.version ?? '?'}`)
  watchConnection(nc)
  // The event log writes and loads on a connection of its own: under a flood of requests on `nc`,
  // the acks of the appends already admitted do not wait behind the unread requests (docs/reliability.md, "Overload").
  const logNc = await session.connectAgain('allsource-log')
  watchConnection(logNc, 'log connection')
  // One registry for this processor; the HTTP gateway serves it on /metrics (and feeds it its request timings).
  const metrics = createProcessorMetrics()
  const traces = tracingFromEnv()
  if (traces.exportingTo !== undefined) log(`tracing on: spans exported over OTLP/HTTP to ${traces.exportingTo}`)
  const authPlane: AuthPlane | undefined = session.auth === undefined ? undefined : await startAuthPlane(nc, session.auth, config, log, metrics)
  // Each step is tried again while JetStream does not answer (a leader election, a cluster regaining quorum).
  const app = await retryStartup('creating the event log', () => createAllSource({
    logger,
    metrics,
    tracing: traces.tracing,
    ...(authPlane !== undefined ? { auth: authPlane.serviceAuth } : {}),
    nc,
    logConnection: logNc,
    modules: registeredModules(config),
    prefix: config.prefix,
    replicas: config.replicas,
    duplicateWindowMs: config.duplicateWindowMs,
    appendDeadlineMs: config.appendDeadlineMs,
    ...(config.groupCommits ? { groupCommits: true } : {}),
    ...(config.runs ? {} : { runs: false }),
    maxEventsPerCommit: config.maxEventsPerCommit,
    maxResidentStreams: config.maxResidentStreams,
    maxInFlight: config.maxInFlight,
    maxQueueMs: config.maxQueueMs,
    // The routing heartbeat beats from a worker thread on a connection of its own (to the server this one reached).
    ...(config.partitions > 0
      ? { routing: { partitions: config.partitions, member: memberId(config.instance), ttlMs: config.memberTtlMs, heartbeatConnection: { servers: [nc.getServer()], ...(session.auth !== undefined ? { nkeySeed: session.auth.material.processorSeed } : {}) } } }
      : {}),
    idleTimeoutMs: config.idleTimeoutMs,
    snapshotEvery: config.snapshotEvery,
    consumers: { max: config.maxReadConsumers },
    projectionOptions: {
      owner: config.instance,
      leaseTtlMs: config.leaseMs,
      chunk: config.projectionChunk,
      lingerMs: config.projectionLingerMs,
      onStateChange: (s) => logger.info(`projection ${s.name}: ${s.state}${s.lastError !== undefined ? ` (${s.lastError.message}${s.lastError.offset !== undefined ? ` at offset ${s.lastError.offset}` : ''})` : ''}`),
    },
    warn: (m) => logger.warn(m),
    info: log,
  }), log)
  const service = await retryStartup('serving', () => app.serve(), log)
  if (config.ingest) {
    await retryStartup('starting ingest', () => app.startIngest({
      maxAttempts: config.ingestMaxAttempts,
      lease: { owner: config.instance, ttlMs: config.leaseMs, onChange: (active) => log(active ? 'ingest: active (this instance holds the ingest lease)' : 'ingest: standby') },
    }), log)
    log(`ingest of ${subjects(config.prefix).ingest('<tenant>', '<stream>')} on (ALLSOURCE_INGEST; one instance at a time; dead letters in ALLSOURCE_DLQ)`)
  }
  if (config.idIndex) await retryStartup('starting the event id index', () => app.startIdIndexer(), log)
  if (config.projections) {
    for (const def of [entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[]) {
      await retryStartup(`starting projection ${def.name}`, () => app.startProjections([def]), log)
    }
    log(`projecting entity-state, event-counter, event-frequency as instance ${config.instance} (ALLSOURCE_PROJECTIONS)`)
  }
  const gateway = await startHttp(config, {
    nc,
    app,
    ...(authPlane !== undefined ? { plane: authPlane } : {}),
    // /metrics serves this processor's registry; every HTTP response is timed into it.
    extra: { metrics, onRequestDone: (route, method, status, seconds) => metrics.httpRequestDone(route, method, status, seconds) },
    tracing: traces.tracing,
    observer: metrics,
  })
  log('ready')
  log(`serving ${config.prefix}.append|read.<tenant>.<stream> (micro service "${config.prefix}", id ${service.id})`)
  const routing = service.routing
  if (routing !== undefined)
    metrics.watch({
      routing: () => {
        const f = routing.fencing()
        return { served: routing.served().size, members: routing.members().length, fences: f.fences, refused: f.refused }
      },
    })
  if (service.routing !== undefined) log(`routing appends by partition: ${config.partitions} partitions, serving ${service.routing.served().size} of them among ${service.routing.members().length} instances (ALLSOURCE_PARTITIONS; docs/operations.md)`)

  const shutdown = createShutdown({
    log,
    steps: () => [
      // Stop intake, answer what was taken; appends still being written get the same budget.
      // HTTP first: its appends in flight are answered by the stream actors, which run until `close`.
      ...(gateway !== undefined ? [{ name: 'closing the HTTP gateway', deadlineMs: config.shutdownTimeoutMs, run: () => gateway.close() }] : []),
      { name: `draining ${app.requests.inFlight} requests in flight`, deadlineMs: config.shutdownTimeoutMs, run: () => app.stopServing() },
      { name: 'closing ingest, projections and the log', deadlineMs: config.shutdownTimeoutMs + 2_000, run: () => app.close() },
      ...(authPlane !== undefined ? [{ name: 'stopping the auth callout', deadlineMs: config.shutdownTimeoutMs + 3_000, run: () => authPlane.stop() }] : []),
      { name: 'draining the NATS connections', deadlineMs: config.shutdownTimeoutMs + 5_000, run: () => Promise.all([nc.drain(), logNc.drain()]) },
      { name: 'closing the NATS connections', deadlineMs: config.shutdownTimeoutMs + 6_000, run: () => Promise.all([nc.close(), logNc.close()]) },
      { name: 'flushing traces', deadlineMs: config.shutdownTimeoutMs + 8_000, run: () => traces.shutdown() },
      ...(server !== undefined ? [{ name: `stopping the embedded nats-server (pid ${server.pid})`, deadlineMs: config.shutdownTimeoutMs + 12_000, run: () => server.stop() }] : []),
    ],
  })
  const onSignal = (signal: NodeJS.Signals) => () => {
    if (!shutdown.stopping) log(`${signal}: stopping intake, draining ${app.requests.inFlight} requests in flight (at most ${config.shutdownTimeoutMs} ms)`)
    shutdown.signal(signal)
  }
  process.on('SIGINT', onSignal('SIGINT'))
  process.on('SIGTERM', onSignal('SIGTERM'))
  // Requests cut off by the closing connection reject inside nats.js; while stopping that is expected.
  process.on('unhandledRejection', (e: unknown) => {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    if (shutdown.stopping) return log(`during shutdown: ${message}`)
    log(`unhandled rejection: ${message}; exiting`)
    process.exit(1)
  })
  for (const [c, which] of [
    [nc, 'NATS connection'],
    [logNc, 'NATS log connection'],
  ] as const) {
    c.closed()
      .then((err) => {
        if (!shutdown.stopping) {
          log(`${which} closed${err ? `: ${err.message}` : ''}; exiting`)
          process.exit(1)
        }
      })
      .catch(() => process.exit(1))
  }
}

/**
 * Logs what happens to a NATS connection: a disconnect (the server may cut a processor that reads
 * too slowly), a reconnect, a stale connection, a client-side slow consumer (at most one line per
 * 10 s). `which` names a connection other than the serving one in the line.
 */
const watchConnection = (nc: NatsConnection, which?: string): void => {
  let lastSlow = 0
  const tag = which === undefined ? 'nats' : `nats (${which})`
  const watch = async (): Promise<void> => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'staleConnection') log(`${tag}: ${s.type}${'server' in s ? ` (${String(s.server)})` : ''}`)
      else if (s.type === 'slowConsumer' && Date.now() - lastSlow > 10_000) {
        lastSlow = Date.now()
        log(`${tag}: slow consumer (a subscription fell behind; messages dropped by the client)`)
      }
    }
  }
  watch().catch(() => undefined)
}

/** This instance's routing member id: its name as a KV key token, made unique (two instances may share a name). */
const memberId = (instance: string): string => `${instance.replace(/[^A-Za-z0-9_=-]/g, '_')}-${Math.random().toString(36).slice(2, 8)}`

/**
 * Starts the HTTP gateway unless `ALLSOURCE_HTTP_PORT` is 0, and logs its URL. A port already taken
 * is a warning naming the variable, not a failure: NATS is served either way.
 */
const startHttp = async (
  config: Config,
  o: { readonly nc: Parameters<typeof startGateway>[0]['nc']; readonly app: Parameters<typeof startGateway>[0]['app']; readonly plane?: AuthPlane } & Pick<Parameters<typeof startGateway>[0], 'extra' | 'tracing' | 'observer'>,
): Promise<RunningGateway | undefined> => {
  if (config.httpPort === 0) {
    log('HTTP gateway off (ALLSOURCE_HTTP_PORT=0)')
    return undefined
  }
  try {
    const gateway = await startGateway({ ...o, prefix: config.prefix, maxEventsPerCommit: config.maxEventsPerCommit, port: config.httpPort, host: config.httpHost, log })
    log(`HTTP gateway on ${gateway.url} (console ${gateway.url}/console, docs ${gateway.url}/docs, OpenAPI ${gateway.url}/openapi.json)`)
    return gateway
  } catch (e) {
    const code = (e as { code?: unknown }).code
    log(
      code === 'EADDRINUSE'
        ? `warning: HTTP gateway not started: ${config.httpHost}:${config.httpPort} is taken; set ALLSOURCE_HTTP_PORT to another port (0 = off). NATS is served as usual`
        : `warning: HTTP gateway not started (${e instanceof Error ? e.message : String(e)}); check ALLSOURCE_HTTP_PORT and ALLSOURCE_HTTP_HOST. NATS is served as usual`,
    )
    return undefined
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`allsource: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
