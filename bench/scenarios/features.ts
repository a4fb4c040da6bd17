import { jetstreamManager } from '@nats-io/jetstream'
import { openEventIdIndex } from '../../src/adapters/nats/reading/eventIdIndex.js'
import { entityState, eventCounter, eventFrequency } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import { createAllSource } from '../../src/main/allSource.js'
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

const startFeatures = async (app: Awaited<ReturnType<typeof createAllSource>>) => {
  await app.startIngest()
  await app.startIdIndexer()
  return app.startProjections([entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[])
}

/** Rows of scenario 21: the service with the `npm start` features off and on, alternating, a fresh server each. */
export const featuresRows = async (R: number, N: number, S: number, step: <T>(name: string, fn: () => Promise<T>) => Promise<T>): Promise<Row[]> => {
  const off: FeaturesResult[] = []
  const on: FeaturesResult[] = []
  await step('service, features off/on', async () => {
    for (let i = 0; i < R; i++) {
      for (const side of i % 2 === 0 ? [false, true] : [true, false]) {
        const b = await freshServer()
        try {
          ;(side ? on : off).push(await serviceWithFeatures(b, N, S, side))
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
  ]
}

export const FEATURES_METHOD = `
- **21 service, features off/on**: scenario 3b (same client process and workload), on a fresh
  server each, alternating which goes first. Off: \`createAllSource\` + \`serve()\` alone. On: also
  what \`npm start\` starts by default: durable ingest (idle), the supplied-id indexer, and the
  built-in projections entity-state, event-counter and event-frequency, in the processor's
  process. Throughput is the client's; the catch-up row is the time from the client's last reply
  until the indexer and every projection reached the end of the log.`
