import { connect } from '@nats-io/transport-node'
import { createAllSourceClient } from '../src/adapters/nats/service/client.js'
import { payload } from './scenarios/common.js'

/**
 * The client of the service scenarios, as a separate process: `streams` loops at once, each
 * appending sequentially through `allsource.append.*.*`. Prints one JSON line: count, elapsed ms
 * and this process's CPU microseconds.
 */
const [url, eventsArg, streamsArg] = process.argv.slice(2)
const nc = await connect({ servers: url })
const client = createAllSourceClient(nc, { timeoutMs: 60_000 })
const streams = Number(streamsArg)
const per = Math.ceil(Number(eventsArg) / streams)
const c0 = process.cpuUsage()
const t0 = performance.now()
await Promise.all(
  Array.from({ length: streams }, async (_, s) => {
    for (let i = 0; i < per; i++) await client.append('bench', `s-${s}`, [{ type: 'thing.happened', payload: payload(i, s) }])
  }),
)
const ms = performance.now() - t0
const cpu = process.cpuUsage(c0)
process.stdout.write(`${JSON.stringify({ count: per * streams, ms, cpuMicros: cpu.user + cpu.system })}\n`)
await nc.close()
