import { registeredModules } from './modules.js'
import { entityState, eventCounter, eventFrequency } from '../domain/projections/builtins.js'
import type { ProjectionDefinition } from '../domain/projections/projection.js'
import { createAllSource } from './allSource.js'
import { loadConfig } from './config.js'
import { connectToNats } from './connectToNats.js'

const log = (message: string): void => {
  process.stdout.write(`${new Date().toISOString()} allsource ${message}\n`)
}

/**
 * `npm start`: connects (or starts the embedded server), serves appends, and on SIGINT/SIGTERM
 * stops taking requests, answers everything already accepted, then closes. Nothing is
 * acknowledged that JetStream did not store.
 */
const main = async (): Promise<void> => {
  const config = loadConfig()
  const session = await connectToNats(config)
  const { nc, server } = session
  log(`connected to ${session.where}; nats-server ${nc.info?.version ?? '?'}`)
  const app = await createAllSource({
    nc,
    modules: registeredModules(config),
    prefix: config.prefix,
    replicas: config.replicas,
    duplicateWindowMs: config.duplicateWindowMs,
    maxEventsPerCommit: config.maxEventsPerCommit,
    maxResidentStreams: config.maxResidentStreams,
    idleTimeoutMs: config.idleTimeoutMs,
    snapshotEvery: config.snapshotEvery,
    projectionOptions: {
      owner: config.instance,
      leaseTtlMs: config.leaseMs,
      chunk: config.projectionChunk,
      onStateChange: (s) => log(`projection ${s.name}: ${s.state}${s.lastError !== undefined ? ` (${s.lastError.message}${s.lastError.offset !== undefined ? ` at offset ${s.lastError.offset}` : ''})` : ''}`),
    },
    warn: (m) => log(`warning: ${m}`),
  })
  const service = await app.serve()
  if (config.ingest) {
    await app.startIngest({
      maxAttempts: config.ingestMaxAttempts,
      lease: { owner: config.instance, ttlMs: config.leaseMs, onChange: (active) => log(active ? 'ingest: active (this instance holds the ingest lease)' : 'ingest: standby') },
    })
    log(`ingest of ${config.prefix}.ingest.<tenant>.<stream> on (ALLSOURCE_INGEST; one instance at a time; dead letters in ALLSOURCE_DLQ)`)
  }
  if (config.idIndex) await app.startIdIndexer()
  if (config.projections) {
    await app.startProjections([entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[])
    log(`projecting entity-state, event-counter, event-frequency as instance ${config.instance} (ALLSOURCE_PROJECTIONS)`)
  }
  log('ready')
  log(`serving ${config.prefix}.append|read.<tenant>.<stream> (micro service "${config.prefix}", id ${service.id})`)

  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log(`${signal}: draining (${app.supervisor.inFlight} appends in flight)`)
    const force = setTimeout(() => {
      log('drain took over 30 s; exiting')
      process.exit(1)
    }, 30_000)
    force.unref()
    await app.close()
    await nc.drain()
    if (server !== undefined) await server.stop()
    log('stopped')
    process.exit(0)
  }
  const stopOn = (signal: string) => () => {
    stop(signal).catch((e: unknown) => {
      log(`${signal}: stop failed: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    })
  }
  process.on('SIGINT', stopOn('SIGINT'))
  process.on('SIGTERM', stopOn('SIGTERM'))
  nc.closed()
    .then((err) => {
      if (!stopping) {
        log(`NATS connection closed${err ? `: ${err.message}` : ''}; exiting`)
        process.exit(1)
      }
    })
    .catch(() => process.exit(1))
}

main().catch((e: unknown) => {
  process.stderr.write(`allsource: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
