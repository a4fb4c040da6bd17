/**
 * What metrics and tracing cost per append through the service (scenario 3b's shape: a client
 * process appending to S streams over NATS, the processor here), side by side in one run:
 *
 * - `before`: the tree at BASE_ROOT (another checkout, e.g. `git archive <commit>`), if given;
 * - `plain`: this tree without metrics (request ids and the tracing port are always there);
 * - `metrics`: with `createProcessorMetrics()`, tracing off (what `npm start` runs);
 * - `tracing on`: metrics and a recording tracer with no exporter (spans made and dropped).
 *
 * Variants alternate within each round, each on a fresh nats-server. Prints the median and range
 * of the processor's CPU per append and of the throughput. `tsx bench/observabilityCost.ts`
 * (ROUNDS, EVENTS, STREAMS, BASE_ROOT from the environment).
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createProcessorMetrics } from '../src/adapters/metrics/processorMetrics.js'
import { tracingWith } from '../src/adapters/tracing/tracingFromEnv.js'
import { createAllSource, type AllSourceOptions } from '../src/main/allSource.js'
import { freshServer } from './scenarios/common.js'
import { drive, type ServiceResult } from './scenarios/service.js'

type Create = (o: AllSourceOptions) => Promise<{ serve(): Promise<unknown>; close(): Promise<void> }>

const rounds = Number(process.env.ROUNDS ?? 5)
const events = Number(process.env.EVENTS ?? 20_000)
const streams = Number(process.env.STREAMS ?? 500)
const baseRoot = process.env.BASE_ROOT

const variants: { name: string; create: () => Promise<Create>; options: () => Partial<AllSourceOptions> }[] = [
  ...(baseRoot !== undefined
    ? [{ name: 'before', create: async () => ((await import(pathToFileURL(resolve(baseRoot, 'src/main/allSource.ts')).href)) as { createAllSource: Create }).createAllSource, options: () => ({}) }]
    : []),
  { name: 'plain', create: async () => createAllSource, options: () => ({}) },
  { name: 'metrics', create: async () => createAllSource, options: () => ({ metrics: createProcessorMetrics() }) },
  { name: 'tracing on', create: async () => createAllSource, options: () => ({ metrics: createProcessorMetrics(), tracing: tracingWith([]).tracing }) },
]

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2
}

const results = new Map<string, ServiceResult[]>()
for (let r = 0; r < rounds; r++) {
  // Rotate the order each round so no variant always runs first (warm-up, neighbours' load).
  const order = variants.map((_, i) => variants[(i + r) % variants.length] as (typeof variants)[number])
  for (const v of order) {
    const b = await freshServer()
    try {
      const create = await v.create()
      const app = await create({ nc: b.nc, snapshotEvery: 0, warn: () => undefined, ...v.options() })
      await app.serve()
      const result = await drive(b, events, streams)
      await app.close()
      results.set(v.name, [...(results.get(v.name) ?? []), result])
      process.stderr.write(`round ${r + 1} ${v.name}: ${result.processorCpu.toFixed(1)} µs/append, ${Math.round(result.eventsPerSecond)} appends/s\n`)
    } finally {
      await b.stop()
    }
  }
}
const rows = variants.map((v) => {
  const rs = results.get(v.name) ?? []
  const cpu = rs.map((x) => x.processorCpu)
  const tput = rs.map((x) => x.eventsPerSecond)
  return {
    variant: v.name,
    'processor µs/append (median)': median(cpu).toFixed(1),
    'range': `${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)}`,
    'appends/s (median)': Math.round(median(tput)),
    'appends/s range': `${Math.round(Math.min(...tput))}–${Math.round(Math.max(...tput))}`,
  }
})
console.table(rows)
