import { execFile } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createAllSource } from '../../src/main/allSource.js'
import { startGateway } from '../../src/main/http/startGateway.js'
import { median, type Row } from '../report.js'
import { type BenchServer, freshServer, procCpuMicros } from './common.js'
import { drive, type ServiceResult } from './service.js'

const clientScript = resolve(dirname(fileURLToPath(import.meta.url)), '../httpClient.ts')

export interface GatewayRound {
  /** The NATS service (3b's client) with the gateway listening but idle. */
  readonly nats: ServiceResult
  /** The same appends over HTTP (keep-alive undici Pool), same streams and concurrency. */
  readonly http: ServiceResult
  /** Sequential appends to one stream: p50 and p99 in ms over NATS and over HTTP. */
  readonly seq: { readonly natsP50: number; readonly natsP99: number; readonly httpP50: number; readonly httpP99: number }
}

const client = async (args: readonly string[]): Promise<{ count: number; ms: number; cpuMicros: number; p50?: number; p99?: number }> => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', clientScript, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { count: number; ms: number; cpuMicros: number; p50?: number; p99?: number }
}

/** Runs the HTTP client against the gateway, measuring the bench process (the processor and its gateway) and nats-server. */
const driveHttp = async (b: BenchServer, base: string, events: number, streams: number): Promise<ServiceResult> => {
  const server0 = procCpuMicros(b.server.pid)
  const self0 = process.cpuUsage()
  const r = await client(['http', base, String(events), String(streams)])
  const self = process.cpuUsage(self0)
  return {
    eventsPerSecond: r.count / (r.ms / 1000),
    clientCpu: r.cpuMicros / r.count,
    serverCpu: (procCpuMicros(b.server.pid) - server0) / r.count,
    processorCpu: (self.user + self.system) / r.count,
  }
}

/**
 * One round of issue 12's gateway figures on a fresh server: the processor (`createAllSource` +
 * `serve()` + `startGateway`) in the bench process, clients in other processes. NATS and HTTP
 * throughput (same events, streams and concurrency; the order alternates by `round`), then
 * sequential latency over both doors.
 */
export const gatewayRound = async (b: BenchServer, events: number, streams: number, sequential: number, round: number): Promise<GatewayRound> => {
  const app = await createAllSource({ nc: b.nc, snapshotEvery: 0 })
  await app.serve()
  const gateway = await startGateway({ nc: b.nc, app, prefix: 'allsource', port: 0, host: '127.0.0.1', log: () => undefined })
  try {
    let nats: ServiceResult
    let http: ServiceResult
    if (round % 2 === 0) {
      nats = await drive(b, events, streams)
      http = await driveHttp(b, gateway.url, events, streams)
    } else {
      http = await driveHttp(b, gateway.url, events, streams)
      nats = await drive(b, events, streams)
    }
    const ns = await client(['nats-seq', b.server.url, String(sequential)])
    const hs = await client(['http-seq', gateway.url, String(sequential)])
    return { nats, http, seq: { natsP50: ns.p50 ?? Number.NaN, natsP99: ns.p99 ?? Number.NaN, httpP50: hs.p50 ?? Number.NaN, httpP99: hs.p99 ?? Number.NaN } }
  } finally {
    await gateway.close()
    await app.close()
  }
}

/** A difference of two measured figures: below zero when the HTTP figure came out lower (noise). */
const DIFFERENCE = 'a difference of two figures; may be below zero'

/** The gateway rows (scenario 14), R rounds on fresh servers. */
export const gatewayRows = async (
  o: { readonly quick: boolean },
  R: number,
  N: number,
  S: number,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
): Promise<Row[]> => {
  const seqN = o.quick ? 100 : 1_000
  const rs = await step('gateway: NATS vs HTTP', async () => {
    const out: GatewayRound[] = []
    for (let i = 0; i < R; i++) {
      const b = await freshServer()
      try {
        out.push(await gatewayRound(b, N, S, seqN, i))
      } finally {
        await b.stop()
      }
    }
    return out
  })
  const m = (f: (r: GatewayRound) => number) => median(rs.map(f))
  const nats = '14 gateway: NATS service'
  const http = '14 gateway: HTTP'
  return [
    { scenario: nats, metric: 'throughput', value: m((r) => r.nats.eventsPerSecond), unit: 'events/s', rounds: rs.map((r) => r.nats.eventsPerSecond) },
    { scenario: http, metric: 'throughput', value: m((r) => r.http.eventsPerSecond), unit: 'events/s', rounds: rs.map((r) => r.http.eventsPerSecond), baseline: `${nats}/throughput`, target: '≥ 0.6×' },
    { scenario: nats, metric: 'cpu processor', value: m((r) => r.nats.processorCpu), unit: 'µs/append' },
    { scenario: http, metric: 'cpu processor (with the gateway)', value: m((r) => r.http.processorCpu), unit: 'µs/append', baseline: `${nats}/cpu processor` },
    { scenario: http, metric: 'cpu gateway (difference)', value: m((r) => r.http.processorCpu - r.nats.processorCpu), unit: 'µs/append', note: DIFFERENCE },
    { scenario: nats, metric: 'cpu client', value: m((r) => r.nats.clientCpu), unit: 'µs/append' },
    { scenario: http, metric: 'cpu client', value: m((r) => r.http.clientCpu), unit: 'µs/append' },
    { scenario: nats, metric: 'cpu nats-server', value: m((r) => r.nats.serverCpu), unit: 'µs/append' },
    { scenario: http, metric: 'cpu nats-server', value: m((r) => r.http.serverCpu), unit: 'µs/append' },
    { scenario: nats, metric: 'sequential p50', value: m((r) => r.seq.natsP50), unit: 'ms', rounds: rs.map((r) => r.seq.natsP50) },
    { scenario: nats, metric: 'sequential p99', value: m((r) => r.seq.natsP99), unit: 'ms' },
    { scenario: http, metric: 'sequential p50', value: m((r) => r.seq.httpP50), unit: 'ms', rounds: rs.map((r) => r.seq.httpP50) },
    { scenario: http, metric: 'sequential p99', value: m((r) => r.seq.httpP99), unit: 'ms' },
    { scenario: http, metric: 'sequential p50 added', value: m((r) => r.seq.httpP50 - r.seq.natsP50), unit: 'ms', target: '≤ 1 ms', note: DIFFERENCE },
  ]
}

export const GATEWAY_METHOD = `- **14 gateway**: per round, on a fresh server, the processor (\`createAllSource\` + \`serve()\`)
  and its HTTP gateway (\`startGateway\`, auth off) in the bench process; clients in other
  processes. NATS: 3b's client (\`createAllSourceClient(nc).append\`, 1,000 loops, each sequential
  on its stream). HTTP: \`bench/httpClient.ts\`, the same appends as \`POST
  /v1/tenants/bench/streams/s-<n>\` (JSON) over one keep-alive undici \`Pool\` of 1,000
  connections (no pipelining: all 1,000 loops have a request in flight), the order of the two alternating
  between rounds. CPU per append as in 3b; "cpu gateway" is the processor's CPU per append over
  HTTP minus over NATS (the gateway's parsing, routing, validation and JSON replies, less the NATS
  request decoding it replaces). Sequential: 1,000 appends to one stream after 50 warm-up ones,
  one client process each (NATS, then HTTP with one keep-alive connection); p50 and p99, and
  the HTTP p50 minus the NATS p50.
`
