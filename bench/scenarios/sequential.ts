import { execFile } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { WireHeaders } from '../../src/adapters/nats/log/wireHeaders.js'
import { createAllSource } from '../../src/main/allSource.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { entityState, eventCounter, eventFrequency } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import { decodeMsgpack, encodeMsgpack } from '../../src/adapters/codec/msgpack.js'
import { median, percentile, type Row } from '../report.js'
import { type BenchServer, createEventStream, freshServer, payload, sampleCommitBytes } from './common.js'

const clientScript = resolve(dirname(fileURLToPath(import.meta.url)), '../httpClient.ts')

/** Latency percentiles (ms) of one way of appending, and CPU µs per append of the bench process. */
export interface SequentialFigures {
  readonly p50: number
  readonly p99: number
  readonly cpu: number
}

export interface SequentialRound {
  readonly raw: SequentialFigures
  /** Request-reply through nats-server to a subscriber in the bench process that answers at once. */
  readonly echo: SequentialFigures
  /** The floor of any append service: the echo's subscriber also publishes the commit (as raw) before it answers. */
  readonly forwarder: SequentialFigures
  readonly library: SequentialFigures
  readonly service: SequentialFigures
  /** The same service with what `npm start` runs beside it by default: ingest (idle), the supplied-id indexer, the three built-in projections. */
  readonly serviceWithFeatures: SequentialFigures
}

const WARM_UP = 50

/** `n` sequential appends by the client process (after its warm-up); the bench process's CPU per request. */
const remote = async (b: BenchServer, n: number): Promise<SequentialFigures> => {
  const c0 = process.cpuUsage()
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', clientScript, 'nats-seq', b.server.url, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 })
  const c = process.cpuUsage(c0)
  const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { count: number; p50: number; p99: number }
  // Over the client's whole run (its start and warm-up included): an upper bound.
  return { p50: r.p50, p99: r.p99, cpu: (c.user + c.system) / (r.count + WARM_UP) }
}

/**
 * A few-line stand-in for the service on its subjects: decodes the request and answers
 * `{ offset }`; with `pub`, first publishes the commit's bytes with the expected sequence and
 * waits for the ack, as raw does.
 */
const standIn = async (b: BenchServer, n: number, pub?: PipelinedPublisher): Promise<SequentialFigures> => {
  const bytes = sampleCommitBytes()
  let last = 0
  let k = 0
  const sub = b.nc.subscribe('allsource.append.*.*', {
    callback: (_e, msg) => {
      decodeMsgpack(msg.data)
      if (pub === undefined) {
        msg.respond(encodeMsgpack({ offset: 0 }))
        return
      }
      // One stream of its own, away from the ones the service writes next.
      const h = WireHeaders.of(['Nats-Msg-Id', `fwd-${++k}`], ['Nats-Expected-Last-Subject-Sequence', String(last)])
      pub.publish('allsource.events.bench.seq-forwarder', bytes, h).then(
        (r) => {
          if (r._tag === 'Stored') last = r.seq
          msg.respond(encodeMsgpack(r._tag === 'Stored' ? { offset: r.seq } : { error: { code: 'UNAVAILABLE', message: r._tag } }))
        },
        () => undefined, // never rejects (PipelinedPublisher)
      )
    },
  })
  await b.nc.flush()
  try {
    return await remote(b, n)
  } finally {
    sub.unsubscribe()
  }
}

/** Times `n` sequential calls of `once(i)`; the bench process's CPU per call in µs. */
const timed = async (n: number, once: (i: number) => Promise<void>): Promise<SequentialFigures> => {
  for (let i = 0; i < WARM_UP; i++) await once(-1 - i)
  const lat: number[] = []
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await once(i)
    lat.push(performance.now() - t0)
  }
  const c = process.cpuUsage(c0)
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), cpu: (c.user + c.system) / n }
}

/**
 * One round of issue 14's hot-stream figures on a fresh server, `n` sequential single-event
 * appends to one stream each way: raw JetStream (the commit's bytes with the expected last subject
 * sequence), the echo and forwarder stand-ins, the library (`app.append` in this process), and the
 * NATS service (the processor in this process). The last three run the same client process
 * (`createAllSourceClient(nc).append`).
 */
export const sequentialRound = async (b: BenchServer, n: number): Promise<SequentialRound> => {
  await createEventStream(b.nc)
  const bytes = sampleCommitBytes()
  const pub = new PipelinedPublisher(b.nc, 30_000)
  let last = 0
  const raw = await timed(n, async (i) => {
    const h = WireHeaders.of(['Nats-Msg-Id', `seq-raw-${i}`], ['Nats-Expected-Last-Subject-Sequence', String(last)])
    const r = await pub.publish('allsource.events.bench.seq-raw', bytes, h)
    if (r._tag !== 'Stored') throw new Error(`raw publish failed: ${JSON.stringify(r)}`)
    last = r.seq
  })
  const echo = await standIn(b, n)
  const forwarder = await standIn(b, n, pub)
  pub.close()
  const app = await createAllSource({ nc: b.nc, snapshotEvery: 0 })
  try {
    const library = await timed(n, async (i) => {
      const r = await app.append('bench', 'seq-library', [{ type: 'thing.happened', payload: payload(i, 0) }])
      if (E.isLeft(r)) throw new Error(`append failed: ${JSON.stringify(r.left)}`)
    })
    await app.serve()
    const service = await remote(b, n)
    // Then as `npm start` runs it: the features folding the log beside the service (caught up first).
    await app.startIngest()
    await app.startIdIndexer()
    const runners = await app.startProjections([entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[])
    const end = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
    await Promise.all(runners.map((p) => p.until((st) => st.checkpoint >= end, 120_000)))
    const serviceWithFeatures = await remote(b, n)
    return { raw, echo, forwarder, library, service, serviceWithFeatures }
  } finally {
    await app.close()
  }
}

/** The sequential rows (scenario 16), R rounds on fresh servers. */
export const sequentialRows = async (quick: boolean, R: number): Promise<Row[]> => {
  const n = quick ? 200 : 5_000
  const rs: SequentialRound[] = []
  for (let i = 0; i < R; i++) {
    const b = await freshServer()
    try {
      rs.push(await sequentialRound(b, n))
    } finally {
      await b.stop()
    }
  }
  const rows: Row[] = []
  const ways = [
    ['16 sequential: raw', (r: SequentialRound) => r.raw],
    ['16 sequential: echo', (r: SequentialRound) => r.echo],
    ['16 sequential: forwarder', (r: SequentialRound) => r.forwarder],
    ['16 sequential: library', (r: SequentialRound) => r.library],
    ['16 sequential: NATS service', (r: SequentialRound) => r.service],
    ['16 sequential: NATS service, npm start features on', (r: SequentialRound) => r.serviceWithFeatures],
  ] as const
  for (const [scenario, of] of ways) {
    const m = (f: (x: SequentialFigures) => number) => median(rs.map((r) => f(of(r))))
    const raw = scenario !== '16 sequential: raw'
    rows.push({ scenario, metric: 'p50', value: m((x) => x.p50), unit: 'ms', rounds: rs.map((r) => of(r).p50), ...(raw ? { baseline: '16 sequential: raw/p50' } : {}) })
    rows.push({ scenario, metric: 'p99', value: m((x) => x.p99), unit: 'ms', rounds: rs.map((r) => of(r).p99), ...(raw ? { baseline: '16 sequential: raw/p99' } : {}) })
    rows.push({ scenario, metric: scenario === '16 sequential: raw' || scenario === '16 sequential: library' ? 'cpu bench process' : 'cpu processor', value: m((x) => x.cpu), unit: 'µs/append' })
  }
  rows.push({
    scenario: '16 sequential: NATS service',
    metric: 'p50 added over raw',
    value: median(rs.map((r) => r.service.p50 - r.raw.p50)),
    unit: 'ms',
    target: '≤ 0.2 ms',
  })
  return rows
}

export const SEQUENTIAL_METHOD = `- **16 sequential**: per round, on a fresh server, 5,000 sequential single-event appends to one
  stream six ways (the sixth last below), each after 50 unmeasured warm-up appends: raw (the commit's bytes published
  through \`PipelinedPublisher\` with \`Nats-Expected-Last-Subject-Sequence\`, in the bench
  process); echo (a subscriber in the bench process on the service's subjects that answers at
  once); forwarder (that subscriber publishing the commit's bytes as raw does before it answers:
  the floor of any append service); the library (\`app.append\` in the bench process); and the
  NATS service (the same processor's \`serve()\` in the bench process). Echo, forwarder and
  service are driven by \`bench/httpClient.ts nats-seq\` (\`createAllSourceClient(nc).append\`) in
  a client process. p50 and p99 of each append's latency; CPU µs per append of the bench process
  (with a client process: over its whole run including its start, so an upper bound); the
  service's p50 minus raw's. Last, the same service again with what \`npm start\` runs beside it by
  default (durable ingest, idle; the supplied-id indexer; the built-in projections entity-state,
  event-counter and event-frequency), started once the other ways are done and caught up with the
  log before the client runs (the log on the serving connection; \`npm start\` gives it one of its
  own, which changed neither figure in a probe).
`
