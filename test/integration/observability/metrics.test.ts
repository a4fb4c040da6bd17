import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { pack } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProcessorMetrics, type ProcessorMetrics } from '../../../src/adapters/metrics/processorMetrics.js'
import { ensureIngestStreams } from '../../../src/adapters/nats/ingest/ingestStreams.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { waitFor } from '../../support/projections.js'
import { sampleValue } from '../../support/promText.js'

const decoder = new TextDecoder()
const json = () => {
  const h = headers()
  h.set('Content-Type', 'application/json')
  return h
}

/** One JSON append through the wire; the reply's error code, or 'ok'. */
const request = async (nc: NatsConnection, stream: string, body: unknown): Promise<string> => {
  const reply = await nc.request(`allsource.append.acme.${stream}`, JSON.stringify(body), { headers: json(), timeout: 10_000 })
  const r = JSON.parse(decoder.decode(reply.data)) as { error?: { code: string; message: string }; duplicate?: boolean }
  return r.error === undefined ? (r.duplicate === true ? 'duplicate' : 'ok') : r.error.message.startsWith('overloaded') ? 'overloaded' : r.error.code
}

const appends = (text: string, source: string, outcome: string): number =>
  sampleValue(text, 'allsource_append_duration_seconds_count', { source, outcome }) ?? 0

describe('metrics: scraped after real appends, projections, ingest and refusals', () => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  let app: AllSource | undefined
  let metrics: ProcessorMetrics

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    await ensureIngestStreams(await jetstreamManager(nc))
    // Its own registry, JetStream figures read on every scrape; a cap of 2 so refusals are easy to cause.
    metrics = createProcessorMetrics({ ingestCacheMs: 0 })
    app = await createAllSource({ nc, metrics, maxInFlight: 2, snapshotEvery: 0, warn: () => undefined })
    await app.serve()
  })
  afterAll(() =>
    cleanUp(
      () => app?.close(),
      () => nc?.close(),
      () => server?.stop(),
    ),
  )

  it('counts appends by source and outcome, and samples actors, mailboxes and in-flight requests', async () => {
    const c = nc as NatsConnection
    const before = await metrics.text()
    expect(appends(before, 'service', 'ok')).toBe(0)
    for (let i = 0; i < 3; i++) expect(await request(c, 'order-1', { events: [{ type: 'order.placed', payload: { i } }] })).toBe('ok')
    expect(await request(c, 'order-1', { events: [{ type: 'order.paid', payload: {} }], expectedVersion: 0 })).toBe('WRONG_EXPECTED_VERSION')
    const retry = { events: [{ type: 'order.placed', payload: {} }], commitId: 'metrics-c1' }
    expect(await request(c, 'order-2', retry)).toBe('ok')
    expect(await request(c, 'order-2', retry)).toBe('duplicate')
    expect(await request(c, 'order-2', { events: [] })).toBe('BAD_REQUEST')
    const lib = await (app as AllSource).append('acme', 'order-3', [{ type: 'order.placed', payload: {} }])
    expect(lib._tag).toBe('Right')

    const text = await metrics.text()
    expect(appends(text, 'service', 'ok')).toBe(4)
    expect(appends(text, 'service', 'duplicate')).toBe(1)
    expect(appends(text, 'service', 'WRONG_EXPECTED_VERSION')).toBe(1)
    expect(appends(text, 'service', 'BAD_REQUEST')).toBe(1)
    expect(appends(text, 'library', 'ok')).toBe(1)
    expect(sampleValue(text, 'allsource_append_duration_seconds_bucket', { source: 'service', outcome: 'ok', le: '+Inf' })).toBe(4)
    expect(sampleValue(text, 'allsource_stream_actors')).toBe(3)
    expect(sampleValue(text, 'allsource_stream_mailbox_depth')).toBe(0)
    expect(sampleValue(text, 'allsource_stream_mailbox_depth_max')).toBe(0)
    expect(sampleValue(text, 'allsource_requests_in_flight')).toBe(0)
    expect(sampleValue(text, 'allsource_requests_in_flight_max')).toBe(2)
    // Process metrics on the processor's own registry.
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(text).toContain('nodejs_eventloop_lag_seconds')
  })

  it('counts requests refused at the in-flight cap, exactly as clients saw them', async () => {
    const c = nc as NatsConnection
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => request(c, `burst-${i}`, { events: [{ type: 'x', payload: { i } }] })))
    const refused = outcomes.filter((o) => o === 'overloaded').length
    expect(refused).toBeGreaterThan(0)
    expect(outcomes.filter((o) => o !== 'overloaded' && o !== 'ok')).toEqual([])
    const text = await metrics.text()
    expect(sampleValue(text, 'allsource_requests_refused_total')).toBe(refused)
    // A refused request is answered before it is an append: only the served ones are counted as appends.
    expect(appends(text, 'service', 'ok')).toBe(4 + outcomes.length - refused)
  })

  it('reports projection lag and events folded, and ingest backlog and dead letters', async () => {
    const a = app as AllSource
    const c = nc as NatsConnection
    const jsm = await jetstreamManager(c)
    const [runner] = await a.startProjections([eventCounter as ProjectionDefinition<unknown>])
    const last = (await jsm.streams.info('ALLSOURCE_EVENTS')).state.last_seq
    await waitFor(() => runner?.status().state === 'live' && runner.status().checkpoint === last)
    let text = await metrics.text()
    const events = (await jsm.streams.info('ALLSOURCE_EVENTS')).state.messages // one event per commit here
    expect(sampleValue(text, 'allsource_projection_events_folded_total', { projection: 'event-counter' })).toBe(events)
    expect(sampleValue(text, 'allsource_projection_lag_commits', { projection: 'event-counter' })).toBe(0)

    // Published before ingest runs: both wait in ALLSOURCE_INGEST.
    const js = jetstream(c)
    await js.publish('allsource.ingest.acme.ingested-1', pack({ type: 'order.placed', payload: { n: 1 } }))
    await js.publish('allsource.ingest.acme.ingested-1', pack({ type: 'bad type', payload: 1 }))
    text = await metrics.text()
    expect(sampleValue(text, 'allsource_ingest_pending_messages')).toBe(2)
    expect(sampleValue(text, 'allsource_ingest_dlq_messages')).toBe(0)
    await a.startIngest({ lease: false })
    await waitFor(async () => (await jsm.streams.info('ALLSOURCE_INGEST')).state.messages === 0)
    text = await metrics.text()
    expect(sampleValue(text, 'allsource_ingest_pending_messages')).toBe(0)
    expect(sampleValue(text, 'allsource_ingest_dlq_messages')).toBe(1)
    expect(appends(text, 'ingest', 'ok')).toBe(1)
    // The projection folds the ingested event too.
    await waitFor(async () => sampleValue(await metrics.text(), 'allsource_projection_events_folded_total', { projection: 'event-counter' }) === events + 1)
  })

  it('takes HTTP timings and auth refusals from their callers', async () => {
    metrics.httpRequestDone('/v1/tenants/:tenant/streams/:stream', 'POST', 201, 0.004)
    metrics.httpRequestDone('/v1/tenants/:tenant/streams/:stream', 'POST', 201, 0.006)
    metrics.authRefused('UNAUTHORIZED')
    metrics.authRefused('QUOTA_EXCEEDED', 'connections')
    const text = await metrics.text()
    expect(sampleValue(text, 'allsource_http_request_duration_seconds_count', { route: '/v1/tenants/:tenant/streams/:stream', method: 'POST', status: '201' })).toBe(2)
    expect(sampleValue(text, 'allsource_auth_failures_total', { reason: 'UNAUTHORIZED' })).toBe(1)
    expect(sampleValue(text, 'allsource_quota_refusals_total', { limit: 'connections' })).toBe(1)
  })

  it('keeps one registry per processor: a second one starts from zero', async () => {
    const other = createProcessorMetrics({ processMetrics: false })
    expect(appends(await other.text(), 'service', 'ok')).toBe(0)
    expect(other.contentType).toMatch(/^text\/plain/)
  })
})
