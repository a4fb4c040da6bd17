import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { pack, unpack } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tracingWith } from '../../../src/adapters/tracing/tracingFromEnv.js'
import { ensureIngestStreams } from '../../../src/adapters/nats/ingest/ingestStreams.js'
import { eventCounter } from '../../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../../src/domain/projections/projection.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { startGateway } from '../../../src/main/http/startGateway.js'
import { cleanUp } from '../../support/cleanUp.js'
import { startNatsServer, type TestNatsServer } from '../../support/natsServer.js'
import { waitFor } from '../../support/projections.js'

const decoder = new TextDecoder()
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

const appendRequest = async (nc: NatsConnection, stream: string, body: unknown, given: Record<string, string> = {}) => {
  const h = headers()
  h.set('Content-Type', 'application/json')
  for (const [k, v] of Object.entries(given)) h.set(k, v)
  const reply = await nc.request(`allsource.append.acme.${stream}`, JSON.stringify(body), { headers: h, timeout: 10_000 })
  return { body: JSON.parse(decoder.decode(reply.data)) as { offset?: number; duplicate?: boolean; error?: { code: string } }, requestId: reply.headers?.get('AllSource-Request-Id') }
}

/** The stored commit at an offset: its headers and its body's keys. */
const storedCommit = async (nc: NatsConnection, seq: number) => {
  const m = await (await jetstreamManager(nc)).direct.getMessage('ALLSOURCE_EVENTS', { seq })
  if (m === null) throw new Error(`no commit at ${seq}`)
  return { requestId: m.header.get('AllSource-Request-Id'), traceparent: m.header.get('traceparent'), body: unpack(m.data) as Record<string, unknown> }
}

describe('request ids and traces: from the request through the stream actor into the commit and the projection fold', () => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  let app: AllSource | undefined
  const exporter = new InMemorySpanExporter()
  const traced = tracingWith([new SimpleSpanProcessor(exporter)])

  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    app = await createAllSource({ nc, tracing: traced.tracing, snapshotEvery: 0, warn: () => undefined })
    await app.serve()
    await app.startProjections([eventCounter as ProjectionDefinition<unknown>])
  })
  afterAll(() =>
    cleanUp(
      () => app?.close(),
      () => nc?.close(),
      () => server?.stop(),
      () => traced.shutdown(),
    ),
  )

  it('one append with a traceparent: allsource.append → stream.actor → jetstream.publish → projection.fold, one trace', async () => {
    const c = nc as NatsConnection
    const r = await appendRequest(c, 'order-1', { events: [{ type: 'order.placed', payload: { total: 42 } }] }, { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, 'AllSource-Request-Id': 'req-obs-1' })
    expect(r.body.error).toBeUndefined()
    expect(r.requestId).toBe('req-obs-1')

    const stored = await storedCommit(c, r.body.offset as number)
    expect(stored.requestId).toBe('req-obs-1')
    expect(stored.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`))
    // The metadata is in headers only: the body clients read back keeps its shape.
    expect(Object.keys(stored.body).sort()).toEqual(['commitId', 'events', 'stream', 'tenant'])

    const byName = (name: string): ReadableSpan | undefined => exporter.getFinishedSpans().find((s) => s.name === name && s.spanContext().traceId === TRACE_ID)
    await waitFor(() => byName('projection.fold') !== undefined, 30_000, 'the projection.fold span')
    const [append, actor, publish, fold] = ['allsource.append', 'stream.actor', 'jetstream.publish', 'projection.fold'].map((n) => byName(n) as ReadableSpan)
    expect(append?.parentSpanContext?.spanId).toBe(CLIENT_SPAN)
    expect(actor?.parentSpanContext?.spanId).toBe(append?.spanContext().spanId)
    expect(publish?.parentSpanContext?.spanId).toBe(actor?.spanContext().spanId)
    // The commit's traceparent is the publish span's: the fold is its child, in the client's trace.
    expect(stored.traceparent).toBe(`00-${TRACE_ID}-${publish?.spanContext().spanId}-01`)
    expect(fold?.parentSpanContext?.spanId).toBe(publish?.spanContext().spanId)
    expect(fold?.attributes['allsource.request_id']).toBe('req-obs-1')
    expect(fold?.attributes['allsource.projection']).toBe('event-counter')
    expect(append?.attributes['allsource.request_id']).toBe('req-obs-1')
  })

  it('an HTTP append through the gateway: allsource.append (door http) → stream.actor → jetstream.publish, in the client\'s trace', async () => {
    const c = nc as NatsConnection
    const gateway = await startGateway({ nc: c, app: app as AllSource, prefix: 'allsource', port: 0, host: '127.0.0.1', log: () => undefined, tracing: traced.tracing })
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c'
      const res = await fetch(`${gateway.url}/v1/tenants/acme/streams/http-1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-http-obs', traceparent: `00-${traceId}-${CLIENT_SPAN}-01` },
        body: JSON.stringify({ events: [{ type: 'order.placed', payload: {} }] }),
      })
      expect(res.status).toBe(201)
      const stored = await storedCommit(c, ((await res.json()) as { offset: number }).offset)
      expect(stored.requestId).toBe('req-http-obs')
      const spans = () => exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === traceId)
      await waitFor(() => spans().some((x) => x.name === 'allsource.append'), 10_000, 'the gateway append span')
      const byName = (name: string) => spans().find((x) => x.name === name)
      const [append, actor, publish] = ['allsource.append', 'stream.actor', 'jetstream.publish'].map(byName)
      expect(append?.attributes['allsource.door']).toBe('http')
      expect(append?.attributes['allsource.request_id']).toBe('req-http-obs')
      expect(append?.parentSpanContext?.spanId).toBe(CLIENT_SPAN)
      expect(actor?.parentSpanContext?.spanId).toBe(append?.spanContext().spanId)
      expect(publish?.parentSpanContext?.spanId).toBe(actor?.spanContext().spanId)
      expect(stored.traceparent).toBe(`00-${traceId}-${publish?.spanContext().spanId}-01`)
    } finally {
      await gateway.close()
    }
  })

  it('makes a request id when none (or an unusable one) is given, and returns it in the reply', async () => {
    const c = nc as NatsConnection
    const none = await appendRequest(c, 'order-2', { events: [{ type: 'order.placed', payload: {} }] })
    expect(none.requestId).toMatch(/^[!-~]{1,128}$/)
    expect((await storedCommit(c, none.body.offset as number)).requestId).toBe(none.requestId)
    const tooLong = await appendRequest(c, 'order-2', { events: [{ type: 'order.placed', payload: {} }] }, { 'AllSource-Request-Id': 'x'.repeat(129) })
    expect(tooLong.requestId).not.toBe('x'.repeat(129))
    expect(tooLong.requestId).toMatch(/^[!-~]{1,128}$/)
    expect(none.requestId).not.toBe(tooLong.requestId)
    // A failure carries its request id too.
    const bad = await appendRequest(c, 'order-2', { events: [] }, { 'AllSource-Request-Id': 'req-bad-1' })
    expect(bad.body.error?.code).toBe('BAD_REQUEST')
    expect(bad.requestId).toBe('req-bad-1')
  })

  it('a retried commitId keeps the first attempt\'s request id in the log', async () => {
    const c = nc as NatsConnection
    const body = { events: [{ type: 'order.placed', payload: {} }], commitId: 'ctx-retry-1' }
    const first = await appendRequest(c, 'order-3', body, { 'AllSource-Request-Id': 'req-first' })
    const retry = await appendRequest(c, 'order-3', body, { 'AllSource-Request-Id': 'req-retry' })
    expect(retry.body.duplicate).toBe(true)
    expect(retry.requestId).toBe('req-retry')
    expect((await storedCommit(c, first.body.offset as number)).requestId).toBe('req-first')
  })

  it('the library append takes the gateway\'s request id and traceparent', async () => {
    const c = nc as NatsConnection
    const traceId = 'a'.repeat(32)
    const r = await (app as AllSource).append('acme', 'order-4', [{ type: 'order.placed', payload: {} }], { context: { requestId: 'req-http-1', traceparent: `00-${traceId}-${'b'.repeat(16)}-01` } })
    if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
    const stored = await storedCommit(c, r.right.offset)
    expect(stored.requestId).toBe('req-http-1')
    expect(stored.traceparent.split('-')[1]).toBe(traceId)
    const append = exporter.getFinishedSpans().find((s) => s.name === 'allsource.append' && s.spanContext().traceId === traceId)
    expect(append?.parentSpanContext?.spanId).toBe('b'.repeat(16))
  })

  it('a run (appends queued on one stream): each commit keeps its own request id and trace, with a jetstream.publish span of its own', async () => {
    const c = nc as NatsConnection
    const a = app as AllSource
    const before = a.runs().stored
    const traceIds = Array.from({ length: 30 }, (_, i) => i.toString(16).padStart(32, 'c'))
    const results = await Promise.all(
      traceIds.map((traceId, i) => a.append('acme', 'order-run', [{ type: 'order.placed', payload: { i } }], { context: { requestId: `req-run-${i}`, traceparent: `00-${traceId}-${'d'.repeat(16)}-01` } })),
    )
    expect(a.runs().stored).toBeGreaterThan(before)
    for (const [i, r] of results.entries()) {
      if (r._tag === 'Left') throw new Error(JSON.stringify(r.left))
      const stored = await storedCommit(c, r.right.offset)
      expect(stored.requestId).toBe(`req-run-${i}`)
      const publish = exporter.getFinishedSpans().find((s) => s.name === 'jetstream.publish' && s.spanContext().traceId === traceIds[i])
      expect(publish).toBeDefined()
      // The commit stores its own publish span's context.
      expect(stored.traceparent).toBe(`00-${traceIds[i]}-${publish?.spanContext().spanId}-01`)
    }
  })

  it('an ingest message\'s request id and traceparent headers reach its commit', async () => {
    const c = nc as NatsConnection
    await ensureIngestStreams(await jetstreamManager(c))
    const h = headers()
    h.set('AllSource-Request-Id', 'req-ingest-1')
    h.set('traceparent', `00-${'e'.repeat(32)}-${'f'.repeat(16)}-01`)
    await jetstream(c).publish('allsource.ingest.acme.ingested-ctx', pack({ type: 'order.placed', payload: {} }), { headers: h })
    const ingest = await (app as AllSource).startIngest({ lease: false })
    await waitFor(() => ingest.appended === 1, 30_000, 'the ingest append')
    const m = await (await jetstreamManager(c)).direct.getMessage('ALLSOURCE_EVENTS', { last_by_subj: 'allsource.events.acme.ingested-ctx' })
    expect(m?.header.get('AllSource-Request-Id')).toBe('req-ingest-1')
    expect(m?.header.get('traceparent').split('-')[1]).toBe('e'.repeat(32))
    await ingest.stop()
  })
})
