import { connect } from '@nats-io/transport-node'
import { tenantConnectOptions } from '../src/adapters/nats/auth/natsGrants.js'
import { createAllSourceClient } from '../src/adapters/nats/service/client.js'
import { payload } from './scenarios/common.js'

/**
 * The client of the service scenarios, as a separate process: `streams` loops at once (times
 * `writers` per stream, default 1), each appending sequentially through `allsource.append.*.*`. Prints one JSON line: count, elapsed ms
 * and this process's CPU microseconds. With `ALLSOURCE_BENCH_KEY` (an API key of tenant `bench`)
 * it connects as that key, as a tenant client does in auth mode; otherwise anonymously.
 */
const [url, eventsArg, streamsArg, writersArg] = process.argv.slice(2)
const key = process.env.ALLSOURCE_BENCH_KEY
const nc = await connect({ servers: url, ...(key !== undefined && key !== '' ? tenantConnectOptions('bench', key) : {}) })
const client = createAllSourceClient(nc, { timeoutMs: 60_000 })
// `ALLSOURCE_BENCH_RETRY=1`: retry UNAVAILABLE with the same commitId (the processors scenario, where a partition can move).
const retry = process.env.ALLSOURCE_BENCH_RETRY === '1'
const streams = Number(streamsArg)
// Loops per stream (default 1): more than one puts several appends of a stream in flight at once.
const writers = writersArg === undefined ? 1 : Number(writersArg)
const per = Math.ceil(Number(eventsArg) / streams / writers)
const c0 = process.cpuUsage()
const t0 = performance.now()
await Promise.all(
  Array.from({ length: streams * writers }, async (_, l) => {
    const s = l % streams
    for (let i = 0; i < per; i++) await client.append('bench', `s-${s}`, [{ type: 'thing.happened', payload: payload(i, s) }], retry ? { retry: true } : {})
  }),
)
const ms = performance.now() - t0
const cpu = process.cpuUsage(c0)
process.stdout.write(`${JSON.stringify({ count: per * streams * writers, ms, cpuMicros: cpu.user + cpu.system })}\n`)
await nc.close()
