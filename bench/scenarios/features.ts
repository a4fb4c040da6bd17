import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { openEventIdIndex } from '../../src/adapters/nats/reading/eventIdIndex.js'
import { entityState, eventCounter, eventFrequency } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import { createAllSource } from '../../src/main/allSource.js'
import { encodeMsgpack } from '../../src/adapters/codec/msgpack.js'
import { MSGPACK_HEADERS } from '../../src/adapters/nats/service/wireCodec.js'
import { type BenchServer, freshServer } from './common.js'
import { median, type Row } from '../report.js'
import { drive, type ServiceResult } from './service.js'

export interface FeaturesResult extends ServiceResult {
  /** From the client's last reply until the id indexer and every projection reached the end of the log. */
  readonly catchUpSeconds: number
}

/**
 * Scenario 3b's service with what `npm start` runs beside it by default (`on`): durable ingest
 * (idle: nothing is published to it), the supplied-id indexer and the built-in projections
 * entity-state, event-counter and event-frequency, all in the processor's process; or none of
 * them (`off`). Same client process and workload as 3b.
 */
export const serviceWithFeatures = async (b: BenchServer, events: number, streams: number, on: boolean): Promise<FeaturesResult> => {
  const app = await createAllSource({ nc: b.nc })
  await app.serve()
  const runners = on ? await startFeatures(app) : []
  const r = await drive(b, events, streams)
  const t0 = performance.now()
  if (on) {
    const last = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
    const index = await openEventIdIndex(b.nc)
    await Promise.all(runners.map((p) => p.until((s) => s.checkpoint >= last, 600_000)))
    while ((await index.checkpoint()) < last) await new Promise((res) => setTimeout(res, 20))
  }
  const catchUpSeconds = (performance.now() - t0) / 1000
  await app.close()
  return { ...r, catchUpSeconds }
}

/** A log reader that only receives: how far it has read, and how to stop it. */
export interface BareReader {
  seen(): number
  stop(): Promise<void>
}

// What the smallest topic update (`{ projection, tenant, key, state, offset }` of event-counter) weighs.
const smallestUpdate = encodeMsgpack({ projection: 'event-counter', tenant: 'bench', key: 'bench.appended', state: { count: 1 }, offset: 1 })

/**
 * A durable consumer on the log (created here as `durable`) that receives every commit and
 * acknowledges it in chunks (ack policy all, one ack per 1,024 commits or when caught up), and
 * does nothing else (no decode); with `topics`, it also publishes that many small topic updates
 * per commit (no subscriber).
 */
export const bareConsumer = async (b: BenchServer, durable: string, topics = 0): Promise<BareReader> => {
  await (await jetstreamManager(b.nc)).consumers.add('ALLSOURCE_EVENTS', { durable_name: durable, ack_policy: AckPolicy.All, max_ack_pending: 50_000, deliver_policy: DeliverPolicy.All })
  const messages = await (await jetstream(b.nc).consumers.get('ALLSOURCE_EVENTS', durable)).consume({ max_messages: 4_096, expires: 5_000 })
  let seen = 0
  const reading = (async () => {
    let n = 0
    for await (const m of messages) {
      seen = m.seq
      for (let t = 0; t < topics; t++) b.nc.publish(`allsource.projections.bench.floor${t}.s${m.seq % 1_000}`, smallestUpdate, { headers: MSGPACK_HEADERS })
      if (++n % 1_024 === 0 || m.info.pending === 0) m.ack()
    }
  })()
  return { seen: () => seen, stop: async () => (messages.stop(), await reading) }
}

/**
 * The floor of any design that folds the log live in the processor's process: scenario 3b's
 * service plus a {@link bareConsumer}. A built-in projection costs at least this one delivery per
 * commit, whether each has its own consumer or they share one.
 */
export const serviceWithBareConsumer = async (b: BenchServer, events: number, streams: number, topics = 0): Promise<FeaturesResult> => {
  const app = await createAllSource({ nc: b.nc })
  await app.serve()
  const reader = await bareConsumer(b, 'bench_floor', topics)
  const r = await drive(b, events, streams)
  const t0 = performance.now()
  const last = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
  while (reader.seen() < last) await new Promise((res) => setTimeout(res, 5))
  const catchUpSeconds = (performance.now() - t0) / 1000
  await reader.stop()
  await app.close()
  return { ...r, catchUpSeconds }
}

const startFeatures = async (app: Awaited<ReturnType<typeof createAllSource>>) => {
  await app.startIngest()
  await app.startIdIndexer()
  return app.startProjections([entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[])
}

/** Rows of scenario 21: the service with the `npm start` features off and on, alternating, a fresh server each. */
export const featuresRows = async (R: number, N: number, S: number, step: <T>(name: string, fn: () => Promise<T>) => Promise<T>): Promise<Row[]> => {
  const off: FeaturesResult[] = []
  const on: FeaturesResult[] = []
  const floor: FeaturesResult[] = []
  const floorTopics: FeaturesResult[] = []
  const sides = ['off', 'on', 'floor', 'floorTopics'] as const
  await step('service, features off/on/bare consumer', async () => {
    for (let i = 0; i < R; i++) {
      // Rotated per round, so no side always runs first on a cold process.
      for (let j = 0; j < sides.length; j++) {
        const side = sides[(i + j) % sides.length] as (typeof sides)[number]
        const b = await freshServer()
        try {
          if (side === 'floor') floor.push(await serviceWithBareConsumer(b, N, S))
          else if (side === 'floorTopics') floorTopics.push(await serviceWithBareConsumer(b, N, S, 2))
          else (side === 'on' ? on : off).push(await serviceWithFeatures(b, N, S, side === 'on'))
        } finally {
          await b.stop()
        }
      }
    }
  })
  const rows = (name: string, rs: FeaturesResult[], extra: Partial<Row>): Row[] => [
    { scenario: name, metric: 'throughput', value: median(rs.map((r) => r.eventsPerSecond)), unit: 'events/s', rounds: rs.map((r) => r.eventsPerSecond), ...extra },
    { scenario: name, metric: 'cpu processor', value: median(rs.map((r) => r.processorCpu)), unit: 'µs/append' },
    { scenario: name, metric: 'cpu nats-server', value: median(rs.map((r) => r.serverCpu)), unit: 'µs/append' },
  ]
  return [
    ...rows('21 service, features off', off, {}),
    ...rows('21 service, npm start features on', on, { baseline: '21 service, features off/throughput', target: '≥ 0.8×' }),
    { scenario: '21 service, npm start features on', metric: 'catch-up after the last append', value: median(on.map((r) => r.catchUpSeconds)), unit: 's', rounds: on.map((r) => r.catchUpSeconds) },
    ...rows(FLOOR_SCENARIO, floor, { baseline: '21 service, features off/throughput' }),
    ...rows(FLOOR_TOPICS_SCENARIO, floorTopics, { baseline: '21 service, features off/throughput' }),
  ]
}

/** The scenario of the bare-consumer floor rows (the report's verdict reads it). */
export const FLOOR_SCENARIO = '21 service + one bare log consumer (floor)'
/** The same consumer publishing two topic updates per commit (the fewest the built-ins' topics allow). */
export const FLOOR_TOPICS_SCENARIO = '21 service + bare consumer + 2 topic publishes (floor)'

export const FEATURES_METHOD = `
- **21 service, features off/on**: scenario 3b (same client process and workload), on a fresh
  server each, alternating which goes first. Off: \`createAllSource\` + \`serve()\` alone. On: also
  what \`npm start\` starts by default: durable ingest (idle), the supplied-id indexer, and the
  built-in projections entity-state, event-counter and event-frequency, in the processor's
  process. Throughput is the client's; the catch-up row is the time from the client's last reply
  until the indexer and every projection reached the end of the log.
- **21 service + one bare log consumer (floor)**: off's service plus one durable consumer on the
  log (ack policy all, one ack per 1,024 commits or when caught up) that receives every commit and
  does nothing with it. Any design that folds the log live in the processor pays at least this one
  delivery per commit; its ratio bounds what the built-ins can reach.
- **21 service + bare consumer + 2 topic publishes (floor)**: the same consumer also publishes two
  small topic updates per commit (a pre-encoded event-counter update, no subscriber). Every commit
  changes a key of entity-state (the stream) and of event-counter (the type), whose topics carry
  every change; event-frequency's carries one update per key per write (docs/projections.md). This
  is the least work any design of the built-ins does per commit, with nothing decoded, folded or
  written.`
