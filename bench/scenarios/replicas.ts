import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { defaultEventStreamOptions, ensureEventStream } from '../../src/adapters/nats/log/eventStream.js'
import { localNatsServerPath } from '../../src/main/natsServer/findNatsServer.js'
import { startCluster } from '../../test/support/natsTopologies.js'
import { median, type Row } from '../report.js'
import { library, rawLimit } from './append.js'
import type { BenchServer } from './common.js'

/** Raw JetStream and the library at `replicas` on a fresh 3-node cluster (the client on node 0). */
const round = async (replicas: 1 | 3, events: number, streams: number): Promise<{ raw: number; library: number }> => {
  const cluster = await startCluster(`bench R${replicas}`, localNatsServerPath())
  try {
    const node = cluster.nodes[0]
    if (node === undefined) throw new Error('no node')
    const nc = await connect({ servers: cluster.urls as string[] })
    const b: BenchServer = { server: node, nc, stop: () => nc.close() }
    try {
      // JetStream answers once a meta leader is elected: ensure (with its own retries) until it does.
      const prepare = async (): Promise<void> => {
        for (let i = 0; ; i++) {
          try {
            return await ensureEventStream(nc, await jetstreamManager(nc), { ...defaultEventStreamOptions, replicas }, () => undefined)
          } catch (e) {
            if (i >= 100) throw e
            await new Promise((r) => setTimeout(r, 200))
          }
        }
      }
      const raw = await rawLimit(b, events, streams, prepare)
      // The library on the same stream (already at `replicas`; its head reads pick up where raw left off on other streams).
      const lib = await library(b, events, streams, 1, replicas)
      return { raw, library: lib }
    } finally {
      await nc.close()
    }
  } finally {
    await cluster.stop()
  }
}

/** Issue 14's R1 vs R3 figures (scenario 18): the same 3-node cluster shape for both, fresh per round and replica count. */
export const replicasRows = async (quick: boolean, rounds: number): Promise<Row[]> => {
  const events = quick ? 2_000 : 20_000
  const streams = quick ? 50 : 1_000
  const r1: { raw: number; library: number }[] = []
  const r3: { raw: number; library: number }[] = []
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so a drift in the machine's load does not favour one side.
    if (i % 2 === 0) r1.push(await round(1, events, streams))
    r3.push(await round(3, events, streams))
    if (i % 2 === 1) r1.push(await round(1, events, streams))
  }
  const rate = (scenario: string, xs: number[], baseline?: string): Row => ({ scenario, metric: 'throughput', value: median(xs), unit: 'events/s', rounds: xs, ...(baseline !== undefined ? { baseline } : {}) })
  return [
    rate('23 replicas: raw JetStream R1', r1.map((r) => r.raw)),
    rate('23 replicas: raw JetStream R3', r3.map((r) => r.raw), '23 replicas: raw JetStream R1/throughput'),
    rate('23 replicas: library R1', r1.map((r) => r.library), '23 replicas: raw JetStream R1/throughput'),
    rate('23 replicas: library R3', r3.map((r) => r.library), '23 replicas: raw JetStream R3/throughput'),
  ]
}

export const REPLICAS_METHOD = `
- **23 replicas** (\`BENCH_ONLY=replicas\`): a fresh 3-node cluster on loopback per round and
  replica count (\`test/support/natsTopologies.ts\`, every node on this machine), the client
  connected to all three; \`ALLSOURCE_EVENTS\` at R1 or R3; raw JetStream (pipelined publishes
  with the expected-sequence header, as 1) then the library (\`app.append\`, as 3a), 20,000
  single-event appends over 1,000 streams each. R3 against R1 is the price of replication (each
  commit acknowledged once two of three nodes hold it); the three nodes share this machine's
  cores, so the ratio is indicative, not what three machines would give.`
