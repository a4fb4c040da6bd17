/**
 * What observability adds to each append, piece by piece, in-process (no I/O, so the noise of a
 * shared box matters far less than in the end-to-end runs of `observabilityCost.ts`): ns per call.
 * `tsx bench/observabilityMicro.ts`
 */
import * as E from 'fp-ts/lib/Either.js'
import { createProcessorMetrics } from '../src/adapters/metrics/processorMetrics.js'
import { WireHeaders } from '../src/adapters/nats/log/wireHeaders.js'
import { appendOutcomeOf } from '../src/adapters/nats/service/appendOutcome.js'
import { newRequestId } from '../src/adapters/system/requestIds.js'
import { tracingWith } from '../src/adapters/tracing/tracingFromEnv.js'
import { noTracing } from '../src/application/observability/ports.js'

const N = 1_000_000
const time = (name: string, f: (i: number) => unknown): void => {
  for (let i = 0; i < N / 10; i++) f(i) // warm up
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) f(i)
  const ns = Number(process.hrtime.bigint() - t0) / N
  console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(6)} ns`)
}

const metrics = createProcessorMetrics({ processMetrics: false })
const ok = E.right({ offset: 1 })
const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const on = tracingWith([]).tracing

time('metrics: appendOutcomeOf + appendDone (histogram observe)', () => {
  const o = appendOutcomeOf(ok)
  metrics.appendDone('service', o.outcome, 0.001, o.limit)
})
time('request id: newRequestId()', () => newRequestId())
time('reply header: WireHeaders with the request id, encoded', (i) => {
  const h = new WireHeaders()
  h.append('AllSource-Request-Id', `abcdefghijkl-${i.toString(36)}`)
  return h.encode()
})
time('tracing off: 4 spans started and ended, no parent', () => {
  for (let k = 0; k < 4; k++) noTracing.start('stream.actor', undefined).end()
})
time('tracing off: 4 spans started and ended, with a parent', () => {
  for (let k = 0; k < 4; k++) noTracing.start('stream.actor', parent).end()
})
time('tracing on (recording, nothing exported): 4 spans', () => {
  let p = parent
  for (let k = 0; k < 4; k++) {
    const s = on.start('stream.actor', p, { 'allsource.request_id': 'r' })
    p = s.traceparent as string
    s.end()
  }
})
