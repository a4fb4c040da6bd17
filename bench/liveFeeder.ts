// Child process of bench/liveFoldProbe.ts: publishes real one-event commits over 1,000 streams at
// RATE commits/s for SECONDS (core publishes, no acks: the feeder's own cost stays out of the way).
import { connect } from '@nats-io/transport-node'
import { encodeCommit } from '../src/adapters/codec/commitCodec.js'
import type { Commit } from '../src/domain/streams/event.js'
import { WireHeaders } from '../src/adapters/nats/log/wireHeaders.js'

const [url = '', rate, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const nc = await connect({ servers: url })
const total = rate * seconds
const t0 = performance.now()
const at = new Date()
let n = 0
while (n < total) {
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
  for (; n < due; n++) {
    const s = n % 1_000
    const type = n % 7 === 0 ? 'other.thing' : 'thing.happened'
    const commit = {
      commitId: `c-${n}`,
      tenant: 'bench',
      stream: `s-${s}`,
      events: [{ id: `e-${n}`, type, version: Math.floor(n / 1_000) + 1, timestamp: at, payload: { i: n, s, text: 'hello world, this is an event' } }],
    } as unknown as Commit
    nc.publish(`allsource.events.bench.s-${s}`, encodeCommit(commit), { headers: WireHeaders.of(['AllSource-Types', type]) })
  }
  await new Promise((r) => setTimeout(r, 2))
}
await nc.flush()
await nc.close()
