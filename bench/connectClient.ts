import { readFileSync } from 'node:fs'
import { connect } from '@nats-io/transport-node'
import { tenantConnectOptions } from '../src/adapters/nats/auth/natsGrants.js'

/**
 * The connecting clients of the connect scenario, as a separate process (the processor holding
 * the callout runs in the bench process, as it would in production, apart from its clients).
 *
 * Argv: url, sequential count, concurrent count, concurrency. Phase 1 opens `sequential`
 * connections one after the other and records each one's connect-to-ready time: from `connect()`
 * until it resolves, i.e. until the server answered the first PING, which it does only after the
 * CONNECT was authorized (with auth on: after the callout answered). Each connection is closed
 * before the next. Phase 2 runs `concurrency` loops of connect-then-close at once until
 * `concurrent` connections were made, and times the whole phase.
 *
 * With `ALLSOURCE_BENCH_KEYS_FILE` (a JSON array of `{ tenant, key }`), connection i connects as
 * key i mod n (key as the connect token, the inbox prefix its grant allows); without it,
 * anonymously. Prints one JSON line: the phase-1 latencies in ms, and phase 2's count and ms.
 */
const [url, seqArg, concArg, parallelArg] = process.argv.slice(2)
const keysFile = process.env.ALLSOURCE_BENCH_KEYS_FILE
const keys = keysFile !== undefined && keysFile !== '' ? (JSON.parse(readFileSync(keysFile, 'utf8')) as { tenant: string; key: string }[]) : []
const optionsFor = (i: number) => {
  const k = keys[i % Math.max(1, keys.length)]
  return k === undefined ? {} : tenantConnectOptions(k.tenant, k.key)
}

const open = async (i: number): Promise<number> => {
  const t0 = performance.now()
  const nc = await connect({ servers: url, reconnect: false, ...optionsFor(i) })
  const ms = performance.now() - t0
  await nc.close()
  return ms
}

const latencies: number[] = []
for (let i = 0; i < Number(seqArg); i++) latencies.push(await open(i))

const total = Number(concArg)
let next = 0
const t0 = performance.now()
await Promise.all(
  Array.from({ length: Number(parallelArg) }, async () => {
    while (next < total) await open(next++)
  }),
)
const concurrentMs = performance.now() - t0
process.stdout.write(`${JSON.stringify({ latencies, concurrent: total, concurrentMs })}\n`)
