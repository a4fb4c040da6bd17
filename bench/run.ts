import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { hotStream, library, naive, rawLimit } from './scenarios/append.js'
import { freshServer, rounds } from './scenarios/common.js'
import { hydration } from './scenarios/hydration.js'
import { filteredQueryRate, filteredQueryRounds, queryLatencies, replayLibrary, replayRaw, writeLog } from './scenarios/replay.js'
import { ingest } from './scenarios/ingest.js'
import { createAllSource } from '../src/main/allSource.js'
import { startProjection } from '../src/adapters/nats/projections/projectionRunner.js'
import { entityState, eventCounter, eventFrequency } from '../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../src/domain/projections/projection.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { forwarder, type ServiceResult, service, serviceWithoutActor } from './scenarios/service.js'
import { median, type Row, table, writeReport } from './report.js'
import { METHOD } from './method.js'
import { actorFloor, actorPath } from './scenarios/actorFloor.js'
import { type ConnectResult, connectAuthOff, connectAuthOn, serviceAuthOff, serviceAuthOn } from './scenarios/auth.js'
import { liveRows } from './scenarios/live.js'
import { gatewayRows } from './scenarios/gateway.js'
import { sequentialRows } from './scenarios/sequential.js'
import { idLookupRows } from './scenarios/idLookup.js'
import { featuresRows } from './scenarios/features.js'
import { analyticsRows } from './scenarios/analytics.js'
import { pipelineRows } from './scenarios/pipelines.js'
import { processorsRows } from './scenarios/processors.js'
import { replicasRows } from './scenarios/replicas.js'
import { durableRows } from './scenarios/durable.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export interface BenchOptions {
  /** Tiny workloads and one round: a smoke test of the harness, not a measurement. */
  readonly quick: boolean
  readonly rounds: number
  /** Where `benchmarks.md` goes (docs/ by default) and where the JSON goes (bench/results). */
  readonly outDir: string
  readonly jsonDir: string
  readonly log: (line: string) => void
  /**
   * Run only these scenarios (`BENCH_ONLY=auth`: 12 and 13) and merge their rows into the
   * previous `latest.json` (and so `benchmarks.md`), keeping every other row and its environment.
   */
  readonly only?: Subset
}

/** The scenarios `BENCH_ONLY` can run alone (merged into the previous report). */
const SUBSETS = ['core', 'auth', 'gateway', 'live', 'sequential', 'query', 'analytics', 'pipelines', 'idlookup', 'features', 'processors', 'replicas', 'durable'] as const
type Subset = (typeof SUBSETS)[number]
const isSubset = (s: string | undefined): s is Subset => (SUBSETS as readonly (string | undefined)[]).includes(s)

/** Compiles the project (`npm run build`) and returns the path of a file under `dist/`. */
const built = async (file: string): Promise<string> => {
  await promisify(execFile)(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', resolve(root, 'tsconfig.build.json')])
  return resolve(root, 'dist', file)
}

const versionOf = (pkg: string): string =>
  (JSON.parse(readFileSync(resolve(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version

const rate = (scenario: string, metric: string, xs: number[], extra: Partial<Row> = {}): Row => ({
  scenario,
  metric,
  value: median(xs),
  unit: 'events/s',
  rounds: xs,
  ...extra,
})

const serviceRows = (name: string, rs: ServiceResult[], extra: Partial<Row>): Row[] => [
  rate(name, 'throughput', rs.map((r) => r.eventsPerSecond), extra),
  { scenario: name, metric: 'cpu client', value: median(rs.map((r) => r.clientCpu)), unit: 'µs/append' },
  { scenario: name, metric: 'cpu nats-server', value: median(rs.map((r) => r.serverCpu)), unit: 'µs/append' },
  { scenario: name, metric: 'cpu processor', value: median(rs.map((r) => r.processorCpu)), unit: 'µs/append' },
]

/**
 * The processor CPU per append that would let the service reach 0.85× the forwarder: at that
 * rate the three processes may use the cores as fully as the forwarder run did, so
 * `0.85 × (c + s + p) = c + s + f` with the client's and the server's CPU per append (c, s) and
 * the forwarder's (f) from the forwarder rounds.
 */
const serviceBudget = (fwd: readonly ServiceResult[]): number => {
  const c = median(fwd.map((r) => r.clientCpu))
  const s = median(fwd.map((r) => r.serverCpu))
  const f = median(fwd.map((r) => r.processorCpu))
  return (c + s + f) / 0.85 - c - s
}

type Step = <T>(name: string, fn: () => Promise<T>) => Promise<T>

/**
 * Issue 11's auth figures: the service of 3b with auth off and on, alternating within each round
 * (fresh server each), and connect-to-ready through the callout next to anonymous connects.
 */
const authRows = async (o: BenchOptions, R: number, N: number, S: number, step: Step): Promise<Row[]> => {
  const rows: Row[] = []
  const off: ServiceResult[] = []
  const on: ServiceResult[] = []
  await step('service, auth off/on', async () => {
    for (let i = 0; i < R; i++) {
      // Alternate which goes first, so a drift in the machine's load does not favour one side.
      if (i % 2 === 0) off.push(await serviceAuthOff(N, S))
      on.push(await serviceAuthOn(N, S))
      if (i % 2 === 1) off.push(await serviceAuthOff(N, S))
    }
  })
  rows.push(...serviceRows('12 service, auth off', off, {}))
  rows.push(...serviceRows('12 service, auth on', on, { baseline: '12 service, auth off/throughput', target: '≥ 0.9×' }))

  // 200 + 200 connections a round: the callout costs tens of ms of CPU per connection on this box (docs/performance.md, "Auth mode").
  const w = o.quick ? { sequential: 50, concurrent: 50, concurrency: 4 } : { sequential: 200, concurrent: 200, concurrency: 4 }
  const tenants = o.quick ? ['t0', 't1'] : ['t0', 't1', 't2', 't3']
  const perTenant = o.quick ? 25 : 250
  const anon: ConnectResult[] = []
  const callout: ConnectResult[] = []
  await step('connect, anonymous/callout', async () => {
    for (let i = 0; i < R; i++) {
      if (i % 2 === 0) anon.push(await connectAuthOff(w))
      callout.push(await connectAuthOn(w, tenants, perTenant))
      if (i % 2 === 1) anon.push(await connectAuthOff(w))
    }
  })
  const a = '13 connect, anonymous'
  const c = '13 connect, callout'
  const conc = `connections/s, ${w.concurrency} connectors`
  const m = (xs: ConnectResult[], f: (r: ConnectResult) => number) => median(xs.map(f))
  rows.push({ scenario: a, metric: 'connect-to-ready p50', value: m(anon, (r) => r.p50), unit: 'ms', rounds: anon.map((r) => r.p50) })
  rows.push({ scenario: a, metric: 'connect-to-ready p99', value: m(anon, (r) => r.p99), unit: 'ms', rounds: anon.map((r) => r.p99) })
  rows.push({ scenario: a, metric: conc, value: m(anon, (r) => r.connectionsPerSecond), unit: 'connections/s', rounds: anon.map((r) => r.connectionsPerSecond) })
  rows.push({ scenario: a, metric: 'cpu nats-server', value: m(anon, (r) => r.serverCpu), unit: 'µs/connection' })
  rows.push({ scenario: c, metric: 'connect-to-ready p50', value: m(callout, (r) => r.p50), unit: 'ms', rounds: callout.map((r) => r.p50), baseline: `${a}/connect-to-ready p50` })
  rows.push({
    scenario: c,
    metric: 'connect-to-ready p99',
    value: m(callout, (r) => r.p99),
    unit: 'ms',
    rounds: callout.map((r) => r.p99),
    baseline: `${a}/connect-to-ready p99`,
    target: '≤ 50 ms',
  })
  rows.push({ scenario: c, metric: conc, value: m(callout, (r) => r.connectionsPerSecond), unit: 'connections/s', rounds: callout.map((r) => r.connectionsPerSecond), baseline: `${a}/${conc}` })
  rows.push({ scenario: c, metric: 'cpu nats-server', value: m(callout, (r) => r.serverCpu), unit: 'µs/connection', baseline: `${a}/cpu nats-server` })
  rows.push({ scenario: c, metric: 'cpu callout (processor)', value: m(callout, (r) => r.processCpu), unit: 'µs/connection' })
  return rows
}

const environment = async (o: BenchOptions, R: number, N: number, S: number): Promise<Record<string, string>> => {
  const serverVersion =
    (await freshServer().then(async (b) => {
      const v = b.nc.info?.version // read before the connection closes
      await b.stop()
      return v
    })) ?? '?'
  return {
    date: new Date().toISOString(),
    command: `${o.only !== undefined ? `BENCH_ONLY=${o.only} ` : ''}npm run bench${o.quick ? ' (quick)' : ''}`,
    machine: `${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    'nats-server': serverVersion,
    packages: ['xstate', '@nats-io/transport-node', '@nats-io/jetstream', 'msgpackr'].map((p) => `${p} ${versionOf(p)}`).join(', '),
    workload: `${N.toLocaleString('en-US')} events per round over ${S.toLocaleString('en-US')} streams (one ~200-byte event per commit unless stated), ${R} rounds, fresh server per round`,
  }
}

/**
 * The rows of a partial run merged into the previous full report in `jsonDir`: every previous row
 * of another scenario kept as it was, with its environment; this run's environment added as one
 * line naming the scenarios it produced.
 */
const mergeWithPrevious = (jsonDir: string, rows: readonly Row[], env: Record<string, string>, label: string, note: string): { rows: Row[]; env: Record<string, string> } => {
  const file = join(jsonDir, 'latest.json')
  if (!existsSync(file)) return { rows: [...rows], env }
  const prev = JSON.parse(readFileSync(file, 'utf8')) as { env: Record<string, string>; rows: Row[] }
  const mine = new Set(rows.map((r) => r.scenario))
  const { date, command, machine, node, 'nats-server': server } = env
  // An earlier run of the same subset (its label may have said something else in brackets) is replaced, not kept beside this one.
  // Of older runs of one subset, only the last is kept (it produced the rows still in the report).
  const kind = (l: string): string => (l.includes(' rows (') ? (l.split(' (')[0] ?? l) : l)
  const latest = new Map<string, readonly [string, string]>()
  for (const [k, v] of Object.entries(prev.env)) latest.set(kind(k), [k, v])
  latest.delete(kind(label))
  const others = Object.fromEntries(latest.values())
  return {
    rows: [...prev.rows.filter((r) => !mine.has(r.scenario)), ...rows],
    env: { ...others, [label]: `${date ?? '?'}, \`${command ?? '?'}\`, ${machine ?? '?'}, node ${node ?? '?'}, nats-server ${server ?? '?'}; ${note}` },
  }
}

/** Scenarios 1–3 (raw limit, naive, library, the actor floor and path, forwarder, service, service without the actor): `BENCH_ONLY=core`. */
const coreRows = async (o: BenchOptions, R: number, N: number, S: number, step: Step): Promise<Row[]> => {
  const rows: Row[] = []
  rows.push(rate('1 raw-limit', 'throughput', await step('raw-limit', () => rounds(R, (b) => rawLimit(b, N, S)))))
  rows.push(rate('2 naive', 'throughput', await step('naive', () => rounds(R, (b) => naive(b, N, S))), { baseline: '1 raw-limit/throughput' }))
  rows.push(
    rate('3a library', 'throughput', await step('library', () => rounds(R, (b) => library(b, N, S))), {
      baseline: '1 raw-limit/throughput',
      target: '≥ 0.8×',
    }),
  )
  // The floor of any xstate-actor-per-stream design: what two events per append cost in xstate alone.
  const floor = await step('actor floor', async () => [1, 2, 3].map(() => actorFloor(o.quick ? 5_000 : 200_000, S)))
  const rawRate = rows.find((r) => r.scenario === '1 raw-limit')?.value ?? Number.NaN
  rows.push({ scenario: '3d actor floor', metric: 'xstate alone, 2 events/append', value: median(floor), unit: 'µs cpu/append' })
  rows.push({ scenario: '3d actor floor', metric: 'raw-limit time per append', value: 1e6 / rawRate, unit: 'µs/append' })
  rows.push({ scenario: '3d actor floor', metric: 'library budget at 0.8× raw', value: 1e6 / (0.8 * rawRate), unit: 'µs/append' })
  // Everything a library append costs in memory, before a byte reaches the socket.
  const path = await step('actor path', async () => {
    const out: number[] = []
    for (let i = 0; i < 3; i++) out.push(await actorPath(o.quick ? 5_000 : 200_000, S))
    return out
  })
  rows.push({ scenario: '3e actor path', metric: 'library append without I/O', value: median(path), unit: 'µs cpu/append', target: 'vs 3d budget' })
  const fwd = await step('forwarder', () => rounds(R, (b) => forwarder(b, N, S)))
  rows.push(...serviceRows('3c forwarder', fwd, { baseline: '1 raw-limit/throughput' }))
  const svc = await step('service', () => rounds(R, (b) => service(b, N, S)))
  rows.push(...serviceRows('3b service', svc, { baseline: '3c forwarder/throughput', target: '≥ 0.85×' }))
  const bare = await step('service without actor', () => rounds(R, (b) => serviceWithoutActor(b, N, S)))
  rows.push(...serviceRows('3f service, no actor', bare, { baseline: '3c forwarder/throughput' }))
  rows.push({ scenario: '3f service, no actor', metric: 'processor budget at 0.85×', value: serviceBudget(fwd), unit: 'µs/append' })

  return rows
}

/** Every scenario of issue 5 that exists today, side by side with its raw baseline. */
export const runBench = async (o: BenchOptions): Promise<Row[]> => {
  const R = o.quick ? 1 : o.rounds
  const N = o.quick ? 2_000 : 40_000
  const S = o.quick ? 50 : 1_000
  const rows: Row[] = []
  const step: Step = async (name, fn) => {
    const t0 = performance.now()
    const r = await fn()
    o.log(`  ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    return r
  }

  // A subset (`BENCH_ONLY`): its rows merged into the previous full report, under a label saying how they were taken.
  const subsets: Record<Subset, { readonly run: () => Promise<Row[]>; readonly label: string }> = {
    core: { run: () => coreRows(o, R, N, S, step), label: `core rows (1–3; ${R} rounds, fresh server per round)` },
    auth: { run: () => authRows(o, R, N, S, step), label: `auth rows (12, 13; ${R} rounds, fresh server per round)` },
    gateway: { run: () => gatewayRows(o, R, N, S, step), label: `gateway rows (14; ${R} rounds, fresh server per round)` },
    live: {
      run: () => step('live WebSocket', () => liveRows(o.quick, R)),
      label: `live rows (15; ${R} rounds, fresh server per round; ${['fastify', '@fastify/websocket', 'ws'].map((p) => `${p} ${versionOf(p)}`).join(', ')})`,
    },
    sequential: { run: () => step('sequential', () => sequentialRows(o.quick, R)), label: `sequential rows (16; ${R} rounds, fresh server per round)` },
    analytics: { run: () => step('analytics', () => analyticsRows(o.quick, R, o.log)), label: `analytics rows (17; ${R} rounds on one log)` },
    pipelines: {
      run: () => step('pipelines', () => pipelineRows(o.quick, R, process.env.BENCH_EVENTS !== undefined ? Number(process.env.BENCH_EVENTS) : undefined)),
      label: `pipeline rows (18; ${R} rounds, fresh server per round)`,
    },
    query: {
      run: async () => {
        const q = await step('filtered query', () => filteredQueryRounds(o.quick, R))
        return [rate('7 replay raw', 'ordered consumer', q.raw), rate('19 filtered query', 'whole log, 10 % matching, events scanned', q.filtered, { baseline: '7 replay raw/ordered consumer', target: '≥ 0.7×' })]
      },
      label: `filtered query rows (19, with the raw ordered consumer of 7; ${R} rounds on one log)`,
    },
    idlookup: { run: () => step('id lookup', () => idLookupRows(o.quick, o.log)), label: 'id lookup rows (20; one fresh server, one fill)' },
    features: { run: () => featuresRows(R, N, S, step), label: `features rows (21; ${R} rounds, fresh server per round)` },
    processors: { run: () => step('processors', () => processorsRows(o.quick, R)), label: `processors rows (22; ${R} rounds, fresh server per round)` },
    replicas: { run: () => step('replicas', () => replicasRows(o.quick, R)), label: `replicas rows (23; ${R} rounds, fresh 3-node cluster per round and replica count)` },
    durable: { run: () => durableRows(o.quick, R, step), label: `durable rows (24; ${R} rounds, fresh sync_interval: always server per round and path)` },
  }
  if (o.only !== undefined) {
    const subset = subsets[o.only]
    const load0 = loadavg()[0] ?? 0
    const mine = await subset.run()
    // Figures taken while other work runs are indicative only: the label keeps the 1-minute load average at start and end.
    const load = `load average ${load0.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end`
    const merged = mergeWithPrevious(o.jsonDir, mine, await environment(o, R, N, S), subset.label, load)
    writeReport(o.outDir, o.jsonDir, merged.rows, merged.env, METHOD)
    return mine
  }

  rows.push(...(await coreRows(o, R, N, S, step)))

  const hot = await step('hot-stream', () => rounds(R, (b) => hotStream(b, o.quick ? 200 : 3_000)))
  rows.push({ scenario: '4 hot-stream raw', metric: 'p50', value: median(hot.map((h) => h.rawP50)), unit: 'ms' })
  rows.push({ scenario: '4 hot-stream raw', metric: 'p99', value: median(hot.map((h) => h.rawP99)), unit: 'ms' })
  rows.push({ scenario: '4 hot-stream', metric: 'p50', value: median(hot.map((h) => h.p50)), unit: 'ms', baseline: '4 hot-stream raw/p50' })
  rows.push({ scenario: '4 hot-stream', metric: 'p99', value: median(hot.map((h) => h.p99)), unit: 'ms', baseline: '4 hot-stream raw/p99', target: '≤ 3×' })

  rows.push(
    rate('5 multi-event', 'throughput (10/commit)', await step('multi-event', () => rounds(R, (b) => library(b, N * 2, S, 10))), {
      baseline: '1 raw-limit/throughput',
    }),
  )
  rows.push(
    rate('6 durable ingest', 'publish → appended', await step('ingest', () => rounds(R, (b) => ingest(b, N / 2, S))), {
      baseline: '1 raw-limit/throughput',
    }),
  )
  const replayEvents = o.quick ? 5_000 : 1_000_000
  const replay = await step('replay', async () => {
    const b = await freshServer()
    try {
      await writeLog(b, replayEvents, o.quick ? 20 : 1_000, 10)
      const raw: number[] = []
      const lib: number[] = []
      for (let i = 0; i < R; i++) {
        raw.push(await replayRaw(b, replayEvents))
        lib.push(await replayLibrary(b, replayEvents))
      }
      const last = (await (await jetstreamManager(b.nc)).streams.info('ALLSOURCE_EVENTS')).state.last_seq
      // The folds next, on the same log, before the id index below fills the server with a key per event.
      // Each fold R times, as the raw consumer: under another name each round (its own bucket and consumer).
      const folds: Record<string, number[]> = {}
      for (const def of [entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[]) {
        for (let i = 0; i < R; i++) {
          const t1 = performance.now()
          const runner = await startProjection(b.nc, i === 0 ? def : { ...def, name: `${def.name}-${i}` })
          while (runner.status().checkpoint < last) await new Promise((r) => setTimeout(r, 5))
          ;(folds[def.name] ??= []).push(replayEvents / ((performance.now() - t1) / 1000))
          await runner.stop()
        }
      }
      const streamsW = o.quick ? 20 : 1_000
      // A tenth of the streams' events match; the filter implies no stream and no type, so every commit is decoded.
      const filtered: number[] = []
      for (let i = 0; i < R; i++) filtered.push(await filteredQueryRate(b, replayEvents, `payload.s < ${streamsW / 10}`, replayEvents / 10))
      const sample = { stream: `s-${Math.floor(streamsW / 2)}`, id: `e-${streamsW - 3}-${Math.floor(replayEvents / 10 / streamsW / 2)}-3`, middleOffset: replayEvents / 20 }
      const scans = await queryLatencies(b, false, sample)
      // Index the whole log, then look an id up.
      const app = await createAllSource({ nc: b.nc })
      const indexer = await app.startIdIndexer()
      const t0 = performance.now()
      const { openEventIdIndex } = await import('../src/adapters/nats/reading/eventIdIndex.js')
      const index = await openEventIdIndex(b.nc)
      while ((await index.checkpoint()) < last) await new Promise((r) => setTimeout(r, 50))
      const indexSeconds = (performance.now() - t0) / 1000
      await indexer.stop()
      await app.close()
      const byId = await queryLatencies(b, true, sample)
      return { raw, lib, scans, byId, indexRate: replayEvents / indexSeconds, folds, filtered }
    } finally {
      await b.stop()
    }
  })
  rows.push(rate('7 replay raw', 'ordered consumer', replay.raw))
  rows.push(rate('7 replay', 'library iterator', replay.lib, { baseline: '7 replay raw/ordered consumer', target: '≥ 0.9×' }))
  rows.push(rate('19 filtered query', 'whole log, 10 % matching, events scanned', replay.filtered, { baseline: '7 replay raw/ordered consumer', target: '≥ 0.7×' }))
  for (const [metric, ms] of Object.entries(replay.scans)) rows.push({ scenario: '7 query (1M log)', metric, value: ms, unit: 'ms' })
  const byId = replay.byId['by event id (indexed)']
  if (byId !== undefined) rows.push({ scenario: '7 query (1M log)', metric: 'by event id (indexed)', value: byId, unit: 'ms' })
  rows.push({ scenario: '7 id index', metric: 'indexing rate', value: replay.indexRate, unit: 'events/s' })
  for (const [name, xs] of Object.entries(replay.folds)) {
    rows.push(rate('8 projections', `${name} fold`, xs, { baseline: '7 replay raw/ordered consumer', target: '≥ 0.7×' }))
  }
  const hyd = await step('hydration', () => rounds(R, (b) => hydration(b, o.quick ? 3 : 20)))
  rows.push({ scenario: '9 hydration', metric: 'cold, 1,000 events, no snapshot', value: median(hyd.map((h) => h.full)), unit: 'ms' })
  rows.push({ scenario: '9 hydration', metric: 'cold, 1,000 events, snapshot', value: median(hyd.map((h) => h.snapshot)), unit: 'ms', target: '≤ 5 ms' })

  const memory = await step('memory', () =>
    rounds(1, async (b) => {
      // The full run measures the processor as `npm start` runs it: compiled JavaScript on plain node
      // (tsx's loader thread alone adds ~100 MB of RSS). The quick run skips the build.
      const probe = o.quick ? ['--import', 'tsx', resolve(root, 'bench/memoryProbe.ts')] : [await built('bench/memoryProbe.js')]
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', ...probe, b.server.url, String(o.quick ? 2_000 : 100_000)], { encoding: 'utf8' })
      return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { rss: number; heapUsed: number; resident: number }
    }),
  )
  rows.push({ scenario: '10 memory', metric: `RSS after ${o.quick ? '2,000' : '100,000'} streams`, value: (memory[0]?.rss ?? 0) / 2 ** 20, unit: 'MB', target: '≤ 400 MB' })
  rows.push({ scenario: '10 memory', metric: 'live heap after GC', value: (memory[0]?.heapUsed ?? 0) / 2 ** 20, unit: 'MB' })
  rows.push({ scenario: '10 memory', metric: 'resident actors', value: memory[0]?.resident ?? 0, unit: 'actors' })

  rows.push(rate('11 durable raw-limit', 'throughput', await step('durable raw-limit', () => rounds(R, (b) => rawLimit(b, N / 2, S), true))))
  const durableSvc = await step('durable service', () => rounds(R, (b) => service(b, N / 2, S), true))
  rows.push(...serviceRows('11 durable service', durableSvc, { baseline: '11 durable raw-limit/throughput' }))

  rows.push(...(await authRows(o, R, N, S, step)))
  rows.push(...(await gatewayRows(o, R, N, S, step)))
  rows.push(...(await step('live WebSocket', () => liveRows(o.quick, R))))
  rows.push(...(await step('sequential', () => sequentialRows(o.quick, R))))
  rows.push(...(await step('id lookup', () => idLookupRows(o.quick, o.log))))
  rows.push(...(await featuresRows(R, N, S, step)))
  rows.push(...(await step('analytics', () => analyticsRows(o.quick, R, o.log))))
  rows.push(...(await step('pipelines', () => pipelineRows(o.quick, R, undefined))))
  rows.push(...(await step('processors', () => processorsRows(o.quick, R))))
  rows.push(...(await step('replicas', () => replicasRows(o.quick, R))))
  rows.push(...(await durableRows(o.quick, R, step)))

  writeReport(o.outDir, o.jsonDir, rows, await environment(o, R, N, S), METHOD)
  return rows
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const started = performance.now()
  const quick = process.env.BENCH_QUICK === '1'
  const only = process.env.BENCH_ONLY
  if (only !== undefined && only !== '' && !isSubset(only)) throw new Error(`BENCH_ONLY=${only}: the subsets are "core" (scenarios 1–3), "auth" (12 and 13), "gateway" (14), "live" (15), "sequential" (16), "analytics" (17), "query" (19), "pipelines" (18), "idlookup" (20), "features" (21), "processors" (22), "replicas" (23) and "durable" (24)`)
  const rows = await runBench({
    quick,
    ...(isSubset(only) ? { only } : {}),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    outDir: quick ? mkdtempSync(join(tmpdir(), 'allsource-bench-quick-')) : resolve(root, 'docs'),
    jsonDir: quick ? mkdtempSync(join(tmpdir(), 'allsource-bench-quick-')) : resolve(root, 'bench/results'),
    log: (l) => console.log(l),
  })
  console.log(`\n${table(rows)}\n\n(${((performance.now() - started) / 1000).toFixed(0)} s${quick ? '; quick mode: nothing written to docs/' : '; written to docs/benchmarks.md and bench/results/latest.json'})`)
}
