import { DeliverPolicy, jetstream } from '@nats-io/jetstream'
import { headers } from '@nats-io/transport-node'
import { pack, unpack } from 'msgpackr'
import { ANALYTICS_FALLBACK_HEADER, ANALYTICS_SOURCE_HEADER } from '../../src/adapters/nats/analytics/analyticsEndpoint.js'
import { eventFrequency } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import { encodeCommit } from '../../src/adapters/codec/commitCodec.js'
import { PipelinedPublisher } from '../../src/adapters/nats/log/pipelinedPublisher.js'
import { createAllSourceClient } from '../../src/adapters/nats/service/client.js'
import type { Commit } from '../../src/domain/streams/event.js'
import type { CommitId, EventId, EventType, StreamId, TenantId, Version } from '../../src/domain/streams/ids.js'
import { createAllSource } from '../../src/main/allSource.js'
import { median, type Row } from '../report.js'
import { type BenchServer, createEventStream, freshServer } from './common.js'

const DAY = 86_400_000
const TYPES = ['cart', 'viewed', 'checkout', 'viewed', 'paid'] as const
const PER_COMMIT = 10
const STREAMS = 1_000
/** The log's events span 30 days, so day, hour and minute buckets all have many members. */
const SPAN_MS = 30 * DAY

/** The requests timed, one per kind: each over the whole log. */
export const ANALYTICS_REQUESTS: readonly (readonly [string, Record<string, unknown>])[] = [
  ['frequency', { bucket: 'hour' }],
  ['summary', { top: 10 }],
  ['funnel', { steps: ['type = "cart"', 'type = "checkout"', 'type = "paid"'], withinMs: DAY }],
  ['retention', { period: 'day' }],
  ['correlation', { a: 'type = "cart"', b: 'type = "paid"', withinMs: 3_600_000 }],
  ['anomalies', { bucket: 'hour', threshold: 3 }],
]

/**
 * The requests timed again once the built-in `event-frequency` projection has caught up: the same
 * bodies as the scan rows, answered from its read model (the reply header says so, else the bench fails).
 */
export const READ_MODEL_REQUESTS: readonly (readonly [string, Record<string, unknown>])[] = [
  ['frequency', { bucket: 'hour' }],
  ['anomalies', { bucket: 'hour', threshold: 3 }],
]

/** One request over NATS answered from the read model: ms, request to reply. */
const readModelRequest = async (b: BenchServer, kind: string, body: Record<string, unknown>): Promise<number> => {
  const t0 = performance.now()
  const m = await b.nc.request(`allsource.analytics.bench.${kind}`, pack(body), { timeout: 600_000 })
  const ms = performance.now() - t0
  const source = m.headers?.get(ANALYTICS_SOURCE_HEADER)
  if (source !== 'read-model') throw new Error(`${kind} was answered by ${source ?? 'an error'}, not the read model: ${m.headers?.get(ANALYTICS_FALLBACK_HEADER) ?? new TextDecoder().decode(m.data).slice(0, 200)}`)
  return ms
}

/**
 * `events` events as AllSource stores them (commits of 10 over 1,000 streams, every header of a
 * real commit), types cycling cart, viewed, checkout, viewed, paid, timestamps spread over 30 days.
 */
const writeAnalyticsLog = async (b: BenchServer, events: number): Promise<void> => {
  await createEventStream(b.nc)
  const pub = new PipelinedPublisher(b.nc, 60_000)
  const commitsPerStream = Math.ceil(events / PER_COMMIT / STREAMS)
  const start = Date.parse('2026-11-01T00:00:00.000Z')
  const step = SPAN_MS / (commitsPerStream * PER_COMMIT)
  await Promise.all(
    Array.from({ length: STREAMS }, async (_, s) => {
      let last = 0
      for (let c = 0; c < commitsPerStream; c++) {
        const evs = Array.from({ length: PER_COMMIT }, (_, k) => {
          const v = c * PER_COMMIT + k + 1
          return {
            id: `e-${s}-${v}` as EventId,
            type: TYPES[(v + s) % TYPES.length] as EventType,
            version: v as Version,
            timestamp: new Date(start + Math.floor(v * step) + s * 1_000),
            payload: { n: v % 7, s },
          }
        })
        const commit: Commit = { commitId: `a-${s}-${c}` as CommitId, tenant: 'bench' as TenantId, stream: `s-${s}` as StreamId, events: evs }
        const h = headers()
        h.set('Nats-Msg-Id', commit.commitId)
        h.set('Nats-Expected-Last-Subject-Sequence', String(last))
        h.set('AllSource-First-Version', String(c * PER_COMMIT + 1))
        h.set('AllSource-Last-Version', String((c + 1) * PER_COMMIT))
        h.set('AllSource-Types', [...new Set(evs.map((e) => e.type))].join(','))
        const r = await pub.publish(`allsource.events.bench.s-${s}`, encodeCommit(commit), h)
        if (r._tag !== 'Stored') throw new Error(`write failed: ${JSON.stringify(r)}`)
        last = r.seq
      }
    }),
  )
  pub.close()
}

/** A raw ordered consumer over the tenant's log decoding every commit with msgpackr: ms. */
const rawScan = async (b: BenchServer, expected: number): Promise<number> => {
  const t0 = performance.now()
  const consumer = await jetstream(b.nc).consumers.get('ALLSOURCE_EVENTS', { filter_subjects: ['allsource.events.bench.>'], deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 })
  const messages = await consumer.consume({ max_messages: 512 })
  let n = 0
  for await (const m of messages) {
    n += (unpack(m.data) as { events: unknown[] }).events.length
    if (m.info.pending === 0) break
  }
  messages.stop()
  if (n !== expected) throw new Error(`raw scan read ${n} events, expected ${expected}`)
  return performance.now() - t0
}

/** The events of the analytics log: `BENCH_ANALYTICS_EVENTS`, else 1,000,000 (10,000 in quick mode). */
export const analyticsEvents = (quick: boolean): number => {
  const n = Number(process.env.BENCH_ANALYTICS_EVENTS)
  const events = Number.isSafeInteger(n) && n > 0 ? n : quick ? 10_000 : 1_000_000
  // Whole commits on every stream.
  return Math.max(1, Math.ceil(events / (PER_COMMIT * STREAMS))) * PER_COMMIT * STREAMS
}

/**
 * Scenario 17: each analytics kind over the whole log through the NATS endpoint
 * (`allsource.analytics.bench.<kind>`, the processor in the bench process), next to a raw ordered
 * consumer reading and decoding the same log, in the same round, alternating. One log per run
 * (written once), `rounds` rounds.
 */
export const analyticsRows = async (quick: boolean, rounds: number, log: (l: string) => void): Promise<Row[]> => {
  const events = analyticsEvents(quick)
  const b = await freshServer()
  try {
    const t0 = performance.now()
    await writeAnalyticsLog(b, events)
    log(`  analytics log: ${events} events written in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const app = await createAllSource({ nc: b.nc, snapshotEvery: 0, warn: () => undefined, analyticsScanLimit: events })
    await app.serve()
    const client = createAllSourceClient(b.nc, { timeoutMs: 600_000 })
    const raw: number[] = []
    const kinds = new Map<string, number[]>(ANALYTICS_REQUESTS.map(([k]) => [k, []]))
    const fromReadModel = new Map<string, number[]>(READ_MODEL_REQUESTS.map(([k]) => [k, []]))
    try {
      for (let r = 0; r < rounds; r++) {
        raw.push(await rawScan(b, events))
        for (const [kind, body] of ANALYTICS_REQUESTS) {
          const s = performance.now()
          await client.analytics('bench', kind, body)
          kinds.get(kind)?.push(performance.now() - s)
        }
      }
      // The read-model rows: only now is event-frequency started (its fold would have competed with the scans above).
      const t1 = performance.now()
      const [runner] = await app.startProjections([eventFrequency as ProjectionDefinition<unknown>])
      await runner?.until((st) => st.state === 'live' && st.lag === 0, 1_800_000)
      log(`  event-frequency caught up with the log in ${((performance.now() - t1) / 1000).toFixed(1)} s`)
      for (let r = 0; r < rounds; r++) {
        for (const [kind, body] of READ_MODEL_REQUESTS) fromReadModel.get(kind)?.push(await readModelRequest(b, kind, body))
      }
    } finally {
      await app.close()
    }
    const base = `17 analytics raw scan`
    const metric = `ordered consumer, ${events.toLocaleString('en-US')} events`
    return [
      { scenario: base, metric, value: median(raw), unit: 'ms', rounds: raw },
      ...ANALYTICS_REQUESTS.map(([kind]): Row => {
        const xs = kinds.get(kind) ?? []
        return { scenario: '17 analytics', metric: kind, value: median(xs), unit: 'ms', rounds: xs, baseline: `${base}/${metric}`, target: '≤ 2×' }
      }),
      ...READ_MODEL_REQUESTS.map(([kind]): Row => {
        const xs = fromReadModel.get(kind) ?? []
        return { scenario: '17 analytics', metric: `${kind} (read model)`, value: median(xs), unit: 'ms', rounds: xs, baseline: `${base}/${metric}`, target: '≤ 2×' }
      }),
    ]
  } finally {
    await b.stop()
  }
}

export const ANALYTICS_METHOD = `- **17 analytics**: one log per run on a fresh server, written as AllSource stores it (commits of
  10 events over 1,000 streams, every header of a real commit; types cycling cart, viewed,
  checkout, viewed, paid; timestamps over 30 days): 1,000,000 events, or \`BENCH_ANALYTICS_EVENTS\`
  (10,000 in quick mode). The processor (\`createAllSource\` + \`serve()\`, scan limit = the log)
  runs in the bench process; each round times a raw ordered consumer reading and decoding the
  tenant's whole log (msgpackr, 512 per pull), then each kind over the whole log through
  \`createAllSourceClient(nc).analytics\` (request to reply): frequency by hour, summary top 10,
  a 3-step funnel within a day, daily retention, correlation cart → paid within an hour,
  hourly anomalies at |z| ≥ 3. Ratio: the kind's time over the raw scan's (target ≤ 2×). After
  the scan rounds, the built-in \`event-frequency\` projection is started in the processor and
  waited for until it has caught up (its catch-up time is logged); then each round times the
  same frequency and anomalies requests over NATS (msgpack, request to reply), which its read model
  answers (the run fails if the reply's \`AllSource-Analytics-Source\` header is not \`read-model\`).
`
