// Ad-hoc probe (not part of npm run bench): what following the log live costs per commit, in CPU,
// while a child process (bench/liveFeeder.ts) publishes at a steady RATE for SECONDS.
//   SETS=none,bare,polled,es,ec,ef,three   which readers run in this process, one fresh server each:
//     none   nothing (the server's cost of storing the commits alone)
//     bare   one durable consumer that receives each commit and acks in chunks (no decode)
//     polled the same consumer read by no-wait pulls every POLL_MS (default 5): batched delivery
//     es/ec/ef/three  the built-in projections (entity-state, event-counter, event-frequency), live
// Prints this process's and nats-server's CPU µs per commit.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import { createInbox } from '@nats-io/transport-node'
import { createEventStream, freshServer, procCpuMicros, type BenchServer } from './scenarios/common.js'
import { bareConsumer, type BareReader } from './scenarios/features.js'
import { startProjection } from '../src/adapters/nats/projections/projectionRunner.js'
import { entityState, eventCounter, eventFrequency } from '../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../src/domain/projections/projection.js'

const RATE = Number(process.env.RATE ?? 4_000)
const SECONDS = Number(process.env.SECONDS ?? 8)
const POLL_MS = Number(process.env.POLL_MS ?? 5)
const folds: Record<string, readonly ProjectionDefinition<unknown>[]> = {
  es: [entityState as ProjectionDefinition<unknown>],
  ec: [eventCounter as ProjectionDefinition<unknown>],
  ef: [eventFrequency as ProjectionDefinition<unknown>],
  three: [entityState, eventCounter, eventFrequency] as ProjectionDefinition<unknown>[],
}

/** No-wait pulls (the server answers what is there, then "404 No Messages"), one every POLL_MS. */
const polled = (b: BenchServer): BareReader => {
  const inbox = createInbox()
  let seen = 0
  let pending = 1
  let got = 0
  let lastReply = ''
  let stopped = false
  let wake: (() => void) | undefined
  const sub = b.nc.subscribe(inbox, {
    callback: (_e, m) => {
      if ((m.headers?.code ?? 0) >= 400) return wake?.()
      const tokens = (m.reply ?? '').split('.')
      seen = Number(tokens[tokens.length - 4])
      pending = Number(tokens[tokens.length - 1])
      lastReply = m.reply ?? ''
      if (pending === 0 || ++got >= 4_096) wake?.()
    },
  })
  const reading = (async () => {
    while (!stopped) {
      got = 0
      await new Promise<void>((resolve) => {
        wake = resolve
        b.nc.publish('$JS.API.CONSUMER.MSG.NEXT.ALLSOURCE_EVENTS.probe', JSON.stringify({ batch: 4_096, no_wait: true }), { reply: inbox })
      })
      if (lastReply !== '') b.nc.publish(lastReply, '+ACK')
      lastReply = ''
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  })()
  return { seen: () => seen, stop: async () => ((stopped = true), await reading, sub.unsubscribe()) }
}

for (const set of (process.env.SETS ?? 'none,bare,polled,three').split(',')) {
  const b = await freshServer()
  try {
    await createEventStream(b.nc)
    const jsm = await jetstreamManager(b.nc)
    if (set === 'polled') await jsm.consumers.add('ALLSOURCE_EVENTS', { durable_name: 'probe', ack_policy: AckPolicy.All, max_ack_pending: 50_000, deliver_policy: DeliverPolicy.All })
    const runners = await Promise.all((folds[set] ?? []).map((d) => startProjection(b.nc, d)))
    const reader = set === 'bare' ? await bareConsumer(b, 'probe') : set === 'polled' ? polled(b) : undefined
    await new Promise((r) => setTimeout(r, 300))
    const self0 = process.cpuUsage()
    const server0 = procCpuMicros(b.server.pid)
    await promisify(execFile)(process.execPath, ['--import', 'tsx', new URL('./liveFeeder.ts', import.meta.url).pathname, b.server.url, String(RATE), String(SECONDS)])
    const last = (await jsm.streams.info('ALLSOURCE_EVENTS')).state.last_seq
    await Promise.all(runners.map((p) => p.until((s) => s.checkpoint >= last, 120_000)))
    while (reader !== undefined && reader.seen() < last) await new Promise((r) => setTimeout(r, 5))
    const self = process.cpuUsage(self0)
    const server = procCpuMicros(b.server.pid) - server0
    console.log(`${set.padEnd(7)} ${last} commits at ${RATE}/s: this process ${((self.user + self.system) / last).toFixed(1)} µs/commit, nats-server ${(server / last).toFixed(1)} µs/commit`)
    await reader?.stop()
    await Promise.all(runners.map((r) => r.stop()))
  } finally {
    await b.stop()
  }
}
process.exit(0)
