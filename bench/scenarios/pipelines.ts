import { startPipeline } from '../../src/adapters/nats/pipelines/pipelineRunner.js'
import { decodePipeline } from '../../src/domain/pipelines/definition.js'
import * as E from 'fp-ts/lib/Either.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { median, type Row } from '../report.js'
import { type BenchServer, freshServer } from './common.js'
import { replayRaw, writeLog } from './replay.js'

/** The pipeline measured: a filter, a map, and a tumbling one-minute count and sum per stream. */
const definition = (name: string) => {
  const d = decodePipeline({
    name,
    stages: [
      { filter: 'type = "thing.happened" and payload.i >= 0' },
      { map: { fields: { stream: 'stream', n: 'payload.i' } } },
      { reduce: { key: 'payload.stream', aggregates: { count: { count: true }, sum: { sum: 'payload.n' } }, window: { tumbling: { sizeMs: 60_000 } } } },
    ],
    sink: { readModel: {} },
  })
  if (E.isLeft(d)) throw new Error(JSON.stringify(d.left))
  return d.right
}

interface PipelineResult {
  readonly raw: number
  readonly pipeline: number
}

/** One round: the log written raw (commits of 10 events over 100 streams, a second of event time per commit), the raw scan, then the pipeline from offset 1 to the end. */
const round = async (b: BenchServer, events: number, i: number): Promise<PipelineResult> => {
  const T0 = Date.parse('2026-12-01T00:00:00Z')
  await writeLog(b, events, 100, 10, (_s, c) => new Date(T0 + c * 1_000))
  const raw = await replayRaw(b, events)
  const end = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
  const t0 = performance.now()
  const runner = await startPipeline(b.nc, definition(`bench-pipeline-${i}`))
  await runner.until((s) => s.checkpoint === end, 600_000)
  const seconds = (performance.now() - t0) / 1000
  await runner.stop()
  return { raw, pipeline: events / seconds }
}

export const PIPELINES_METHOD = `
- **18 pipelines**: a log written raw (commits of 10 events over 100 streams, one second of event
  time per commit), then per round: the raw ordered consumer's scan of it (as 7), and
  \`startPipeline\` of filter (text form) + map (two fields) + a tumbling one-minute count and sum
  per stream into a KV read model, from offset 1 until its checkpoint reaches the end (lease,
  durable consumer, fold, chunked compare-and-set KV writes, topic publishes and acks included).
  Events per second; the ratio is pipeline / raw scan of the same log in the same round.`

/** Scenario 18 (`BENCH_ONLY=pipelines`): pipeline throughput next to the raw scan of the same log. */
export const pipelineRows = async (quick: boolean, R: number, events = quick ? 20_000 : 200_000): Promise<Row[]> => {
  const rs: PipelineResult[] = []
  for (let i = 0; i < R; i++) {
    const b = await freshServer()
    try {
      rs.push(await round(b, events, i))
    } finally {
      await b.stop()
    }
  }
  const s = '18 pipelines'
  const col = (f: (r: PipelineResult) => number) => ({ value: median(rs.map(f)), rounds: rs.map(f) })
  return [
    { scenario: '18 pipelines raw scan', metric: `ordered consumer, ${events.toLocaleString('en-US')} events`, unit: 'events/s', ...col((r) => r.raw) },
    { scenario: s, metric: 'filter + map + tumbling window → KV', unit: 'events/s', baseline: '18 pipelines raw scan/' + `ordered consumer, ${events.toLocaleString('en-US')} events`, ...col((r) => r.pipeline) },
  ]
}
