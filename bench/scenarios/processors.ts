import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from '@nats-io/transport-node'
import { freePort, launchNatsServer } from '../../src/main/natsServer/launchNatsServer.js'
import { appendMappingConfig } from '../../src/main/natsServer/natsServerConfig.js'
import { median, type Row } from '../report.js'
import { rawLimit } from './append.js'
import type { BenchServer } from './common.js'
import { drive } from './service.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const PARTITIONS = 32

/** A fresh nats-server with the append mapping (32 partitions) and its own temp store. */
const mappedServer = async (): Promise<BenchServer> => {
  const dir = mkdtempSync(join(tmpdir(), 'allsource-bench-'))
  const server = await launchNatsServer({ storeDir: dir, port: 0, appendConfig: appendMappingConfig('allsource', PARTITIONS) })
  const nc = await connect({ servers: server.url })
  return {
    server,
    nc,
    stop: async () => {
      await nc.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

interface Processor {
  readonly proc: ChildProcess
  readonly metricsUrl: string
  output(): string
}

/** One processor process (`src/main/start.ts` through tsx), serving appends only, its /metrics on a free port. */
const spawnProcessor = async (url: string, name: string, partitions: number): Promise<Processor> => {
  const port = await freePort()
  const proc = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'src/main/start.ts')], {
    cwd: root,
    env: {
      ...process.env,
      NATS_URL: url,
      ALLSOURCE_EMBEDDED: 'never',
      ALLSOURCE_AUTH: 'off',
      ALLSOURCE_INSTANCE: name,
      ALLSOURCE_PARTITIONS: String(partitions),
      ALLSOURCE_MEMBER_TTL_MS: '1500',
      ALLSOURCE_HTTP_PORT: String(port),
      ALLSOURCE_INGEST: '0',
      ALLSOURCE_ID_INDEX: '0',
      ALLSOURCE_PROJECTIONS: '0',
      ALLSOURCE_EXAMPLE_MODULES: '0',
      ALLSOURCE_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  return { proc, metricsUrl: `http://127.0.0.1:${port}/metrics`, output: () => out }
}

/** Waits for `cond`; a shared, loaded machine can take a minute to start a tsx process, hence the long timeout. */
const until = async (cond: () => boolean, what: string, procs: readonly Processor[], timeoutMs = 240_000): Promise<void> => {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`processors bench: timed out waiting for ${what}:\n${procs.map((p) => p.output().slice(-2_000)).join('\n---\n')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** {@link until} for a condition that must be fetched. */
const untilAsync = async (cond: () => Promise<boolean>, what: string, procs: readonly Processor[], timeoutMs = 240_000): Promise<void> => {
  const t0 = Date.now()
  while (!(await cond().catch(() => false))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`processors bench: timed out waiting for ${what}:\n${procs.map((p) => p.output().slice(-2_000)).join('\n---\n')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** How many members the processor's last `routing: members a, b, …` line names. */
const membersSeen = (p: Processor): number => [...p.output().matchAll(/routing: members ([^"\n]*)/g)].at(-1)?.[1]?.split(', ').length ?? 1

/** A counter of the processor's /metrics (0 when absent). */
const counterOf = async (p: Processor, name: string): Promise<number> => {
  const text = await (await fetch(p.metricsUrl)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}
const sumOf = async (procs: readonly Processor[], name: string): Promise<number> => (await Promise.all(procs.map((p) => counterOf(p, name)))).reduce((a, c) => a + c, 0)

export interface ProcessorsResult {
  readonly eventsPerSecond: number
  /** Conflicts the log answered (each a reload and a retry in a stream actor) per append. */
  readonly conflictRate: number
  /** Self-fences of the processors during the round (a heartbeat that lapsed: the instance stepped back from its partitions). */
  readonly fences: number
}

/**
 * `count` processor processes on one server with the append mapping, each routing by partition
 * (`routed`) or serving every stream in the shared queue group (`ALLSOURCE_PARTITIONS=0`); the
 * service client process drives `events` appends over `streams` streams (each stream sequential,
 * all at once, `expectedVersion: "any"`). Waits until every instance has seen the others before it
 * starts the clock.
 */
export const processorsRound = async (b: BenchServer, count: number, routed: boolean, events: number, streams: number): Promise<ProcessorsResult> => {
  const procs: Processor[] = []
  try {
    for (let i = 0; i < count; i++) procs.push(await spawnProcessor(b.server.url, `p${i}`, routed ? PARTITIONS : 0))
    await until(() => procs.every((p) => /\bready\b/.test(p.output())), 'ready', procs)
    // Each instance has logged a member list with every instance in it (rendezvous needs the same view).
    if (routed && count > 1) await until(() => procs.every((p) => membersSeen(p) === count), 'the members', procs)
    // …and the handoffs are over: every partition served by one instance (no make-before-break overlap left).
    if (routed && count > 1) await untilAsync(async () => (await sumOf(procs, 'allsource_routing_partitions_served')) === PARTITIONS, 'the handoffs', procs)
    // The client retries UNAVAILABLE (a fenced instance, no responders while a partition moves) as a real client would.
    const r = await drive(b, events, streams, undefined, 1, { ALLSOURCE_BENCH_RETRY: '1' })
    const conflicts = await sumOf(procs, 'allsource_append_conflicts_total')
    const fences = await sumOf(procs, 'allsource_routing_fences_total')
    const appends = Math.ceil(events / streams) * streams
    return { eventsPerSecond: r.eventsPerSecond, conflictRate: conflicts / appends, fences }
  } finally {
    for (const p of procs) {
      if (p.proc.exitCode === null && p.proc.signalCode === null) {
        p.proc.kill('SIGTERM')
        await new Promise((res) => p.proc.once('exit', res))
      }
    }
  }
}

const CONFIGS = [
  { name: '1 processor', count: 1, routed: true },
  { name: '2 processors, routed', count: 2, routed: true },
  { name: '3 processors, routed', count: 3, routed: true },
  { name: '2 processors, shared group', count: 2, routed: false },
  { name: '3 processors, shared group', count: 3, routed: false },
] as const

/**
 * Issue 14's several-processors figures (scenario 22): raw JetStream on the same server, then 1, 2
 * and 3 processor processes routed by partition, and 2 and 3 in the shared queue group (no
 * routing, as before), on a fresh server per round.
 */
export const processorsRows = async (quick: boolean, rounds: number): Promise<Row[]> => {
  const events = quick ? 2_000 : 20_000
  const streams = quick ? 50 : 1_000
  // Quick (the smoke test in npm test): both ways of serving with 1 and 2 processes, not 3 (11 process starts → 5).
  const configs = quick ? CONFIGS.filter((c) => c.count < 3) : CONFIGS
  const raw: number[] = []
  const results = new Map<string, ProcessorsResult[]>(configs.map((c) => [c.name, []]))
  for (let i = 0; i < rounds; i++) {
    const b = await mappedServer()
    try {
      raw.push(await rawLimit(b, events, streams))
      for (const c of configs) results.get(c.name)?.push(await processorsRound(b, c.count, c.routed, events, streams))
    } finally {
      await b.stop()
    }
  }
  const rows: Row[] = [{ scenario: '22 processors: raw JetStream', metric: 'throughput', value: median(raw), unit: 'events/s', rounds: raw }]
  for (const c of configs) {
    const rs = results.get(c.name) ?? []
    rows.push({
      scenario: `22 processors: ${c.name}`,
      metric: 'throughput',
      value: median(rs.map((r) => r.eventsPerSecond)),
      unit: 'events/s',
      rounds: rs.map((r) => r.eventsPerSecond),
      baseline: c.count === 1 ? '22 processors: raw JetStream/throughput' : '22 processors: 1 processor/throughput',
    })
    rows.push({ scenario: `22 processors: ${c.name}`, metric: 'conflict rate', value: median(rs.map((r) => r.conflictRate)), unit: 'conflicts/append' })
    if (c.routed && c.count > 1) rows.push({ scenario: `22 processors: ${c.name}`, metric: 'self-fences', value: median(rs.map((r) => r.fences)), unit: 'fences/round', rounds: rs.map((r) => r.fences) })
  }
  return rows
}

export const PROCESSORS_METHOD = `
- **22 processors** (\`BENCH_ONLY=processors\`): one nats-server with the append mapping
  (\`{{partition(32,1,2)}}\`, docs/operations.md "Several processors"); raw JetStream first (as 1,
  on this server); then 1, 2 and 3 processor processes (\`src/main/start.ts\` through tsx, appends
  only: no ingest, projections or id index), routed by partition, and 2 and 3 in the shared queue
  group (\`ALLSOURCE_PARTITIONS=0\`, every instance serves every stream). The client process of 3b
  drives ${'20,000'} appends over 1,000 streams once every routed instance sees the others and the
  partitions are served exactly once (the processors' \`allsource_routing_partitions_served\` sum to 32) (each stream sequential, all at once,
  \`expectedVersion: "any"\`). Throughput of 2 and 3 is against 1 processor; the conflict rate is
  the processors' \`allsource_append_conflicts_total\` (appends the log refused because another
  instance moved the stream on; each costs a reload) per append, and the self-fences the routed
  processors' \`allsource_routing_fences_total\` counted (a heartbeat that lapsed; the client
  retries the \`UNAVAILABLE\` answers of a fenced instance, \`ALLSOURCE_BENCH_RETRY=1\`). Every process shares the same
  cores: on a 2-core machine more processors cannot add CPU, so the figure shows the cost of
  routing and conflicts, not scale-out.`
