import { jetstreamManager } from '@nats-io/jetstream'
/**
 * The HTTP gateway against a real nats-server and processor (auth off): every data route, the
 * compatibility routes, the documents, and each kind of bad input answered as problem details.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, validate } from '@readme/openapi-parser'
import { call, type GatewayFixture, startGatewayFixture } from '../../support/gatewayFixture.js'

let f: GatewayFixture
let base: string
const done: { route: string; method: string; status: number }[] = []

beforeAll(async () => {
  f = await startGatewayFixture({ bodyLimit: 64 * 1024, onRequestDone: (route, method, status) => done.push({ route, method, status }) })
  base = f.gateway.url
})
afterAll(() => f?.stop())

const expectProblem = (r: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, code: string) => {
  expect(r.status).toBe(status)
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(r.body).toMatchObject({ status, code })
  expect(typeof r.body.type).toBe('string')
  expect(typeof r.body.title).toBe('string')
  expect(typeof r.body.detail).toBe('string')
}

describe('streams', () => {
  it('appends (201, ETag), reads back (ETag), and If-Match sets the expected version: stale is 412, a stale body version 409', async () => {
    const a = await call(base, 'POST', '/v1/tenants/acme/streams/order-1', { body: { events: [{ type: 'order.placed', payload: { total: 42 } }], expectedVersion: 'no_stream' } })
    expect(a.status).toBe(201)
    expect(a.body).toMatchObject({ tenant: 'acme', stream: 'order-1', fromVersion: 1, toVersion: 1 })
    expect(a.headers.get('etag')).toBe('"1"')
    const b = await call(base, 'POST', '/v1/tenants/acme/streams/order-1', { body: { events: [{ type: 'order.paid', payload: { paid: true } }] }, headers: { 'if-match': '"1"' } })
    expect(b.status).toBe(201)
    expect(b.headers.get('etag')).toBe('"2"')
    const stale = await call(base, 'POST', '/v1/tenants/acme/streams/order-1', { body: { events: [{ type: 'order.paid', payload: {} }] }, headers: { 'if-match': '"1"' } })
    expectProblem(stale, 412, 'WRONG_EXPECTED_VERSION')
    expect(stale.body).toMatchObject({ expected: 1, actual: 2 })
    const staleBody = await call(base, 'POST', '/v1/tenants/acme/streams/order-1', { body: { events: [{ type: 'order.paid', payload: {} }], expectedVersion: 1 } })
    expectProblem(staleBody, 409, 'WRONG_EXPECTED_VERSION')
    const exists = await call(base, 'POST', '/v1/tenants/acme/streams/order-new', { body: { events: [{ type: 'x', payload: {} }] }, headers: { 'if-match': '*' } })
    expectProblem(exists, 412, 'WRONG_EXPECTED_VERSION')
    const read = await call(base, 'GET', '/v1/tenants/acme/streams/order-1?fromVersion=1&limit=10')
    expect(read.status).toBe(200)
    expect(read.headers.get('etag')).toBe('"2"')
    expect(read.body).toMatchObject({ version: 2 })
    const events = read.body.events as { type: string; timestamp: string; offset: number }[]
    expect(events.map((e) => e.type)).toEqual(['order.placed', 'order.paid'])
    expect(new Date(events[0]?.timestamp ?? '').toISOString()).toBe(events[0]?.timestamp)
    const empty = await call(base, 'GET', '/v1/tenants/acme/streams/nothing-here')
    expect(empty.body).toEqual({ events: [], version: 0 })
  })

  it('a retry with the same commitId is answered duplicate', async () => {
    const body = { events: [{ type: 'x', payload: { n: 1 } }], commitId: 'http-retry-1' }
    const first = await call(base, 'POST', '/v1/tenants/acme/streams/retry-1', { body })
    const second = await call(base, 'POST', '/v1/tenants/acme/streams/retry-1', { body })
    expect(first.status).toBe(201)
    expect(second.body).toMatchObject({ duplicate: true, offset: first.body.offset })
  })
})

describe('query, event by id, projections', () => {
  it('queries by type and stream, and finds one event by id', async () => {
    const a = await call(base, 'POST', '/v1/tenants/qt/streams/user-1', { body: { events: [{ type: 'user.created', payload: { name: 'Ann' } }, { type: 'user.renamed', payload: { name: 'Bo' } }] } })
    const q = await call(base, 'GET', '/v1/tenants/qt/events?type=user.renamed&limit=10')
    expect(q.status).toBe(200)
    expect((q.body.events as { type: string; stream: string; tenant: string }[]).map((e) => [e.tenant, e.stream, e.type])).toEqual([['qt', 'user-1', 'user.renamed']])
    const id = (a.body.eventIds as string[])[0] as string
    const one = await call(base, 'GET', `/v1/tenants/qt/events/${encodeURIComponent(id)}`)
    expect(one.status).toBe(200)
    expect(one.body).toMatchObject({ id, type: 'user.created', stream: 'user-1' })
    expectProblem(await call(base, 'GET', '/v1/tenants/qt/events/no-such-id'), 404, 'NOT_FOUND')
    expectProblem(await call(base, 'GET', '/v1/tenants/qt/events?limit=0'), 400, 'BAD_REQUEST')
    expectProblem(await call(base, 'GET', '/v1/tenants/qt/events?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z'), 400, 'BAD_REQUEST')
    expectProblem(await call(base, 'GET', '/v1/tenants/qt/events?where=%7Bnot-json'), 400, 'BAD_REQUEST')
  })

  it('reads a projection key after its own write (minOffset), and lists projections', async () => {
    const a = await call(base, 'POST', '/v1/tenants/pj/streams/cart-1', { body: { events: [{ type: 'cart.opened', payload: { items: 1 } }] } })
    const r = await call(base, 'GET', `/v1/tenants/pj/projections/entity-state/cart-1?minOffset=${String(a.body.offset)}&timeoutMs=20000`)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ key: 'cart-1', state: { items: 1 } })
    expectProblem(await call(base, 'GET', '/v1/tenants/pj/projections/entity-state/no-key'), 404, 'NOT_FOUND')
    expectProblem(await call(base, 'GET', '/v1/tenants/pj/projections/no-such/k'), 404, 'NOT_FOUND')
    expectProblem(await call(base, 'GET', '/v1/tenants/pj/projections/entity-state/bad..key'), 400, 'INVALID_ID')
    expect((await call(base, 'GET', '/v1/tenants/pj/projections/entity-state')).body).toMatchObject({ name: 'entity-state' })
    expectProblem(await call(base, 'GET', '/v1/tenants/pj/projections/no-such'), 404, 'NOT_FOUND')
    const list = await call(base, 'GET', '/v1/tenants/pj/projections')
    expect((list.body.projections as { name: string }[]).map((p) => p.name).sort()).toEqual(['entity-state', 'event-counter'])
  })
})

describe('subscriptions and dead letters', () => {
  it('creates a subscription, reads its position, resets it, deletes it', async () => {
    await call(base, 'POST', '/v1/tenants/sb/streams/s-1', { body: { events: [{ type: 'x', payload: {} }] } })
    const c = await call(base, 'POST', '/v1/tenants/sb/subscriptions', { body: { name: 'billing', from: 'start' } })
    expect(c.status).toBe(201)
    expect(c.body).toMatchObject({ name: 'billing', tenant: 'sb', acknowledged: 0, lag: 1 })
    expectProblem(await call(base, 'POST', '/v1/tenants/sb/subscriptions', { body: { name: 'billing' } }), 400, 'BAD_REQUEST')
    expect((await call(base, 'GET', '/v1/tenants/sb/subscriptions/billing')).body).toMatchObject({ lag: 1 })
    const reset = await call(base, 'POST', '/v1/tenants/sb/subscriptions/billing/reset', { body: { to: 'end' } })
    expect(reset.status).toBe(200)
    expect((await call(base, 'DELETE', '/v1/tenants/sb/subscriptions/billing')).status).toBe(204)
    expectProblem(await call(base, 'GET', '/v1/tenants/sb/subscriptions/billing'), 404, 'NOT_FOUND')
  })

  it('lists dead letters and refuses to re-drive one that does not exist', async () => {
    const l = await call(base, 'GET', '/v1/tenants/sb/dlq')
    expect(l.status).toBe(200)
    expect(l.body).toEqual({ deadLetters: [] })
    expectProblem(await call(base, 'POST', '/v1/tenants/sb/dlq/99/redrive'), 404, 'NOT_FOUND')
    expectProblem(await call(base, 'POST', '/v1/tenants/sb/dlq/abc/redrive'), 400, 'BAD_REQUEST')
  })
})

describe('the original core API', () => {
  it('POST /api/v1/events, GET /api/v1/events/query and GET /api/v1/entities/{id}/state answer in its shapes', async () => {
    const a = await call(base, 'POST', '/api/v1/events', { body: { event_type: 'user.created', entity_id: 'user-7', payload: { name: 'Ann', plan: 'free' }, tenant_id: 'legacy' } })
    expect(a.status).toBe(200)
    expect(typeof a.body.event_id).toBe('string')
    expect(new Date(String(a.body.timestamp)).toISOString()).toBe(a.body.timestamp)
    const asOf = new Date().toISOString()
    await new Promise((r) => setTimeout(r, 5))
    await call(base, 'POST', '/api/v1/events?tenant_id=legacy', { body: { event_type: 'user.upgraded', entity_id: 'user-7', payload: { plan: 'pro' } } })
    const q = await call(base, 'GET', '/api/v1/events/query?entity_id=user-7&tenant_id=legacy')
    expect(q.body.count).toBe(2)
    expect((q.body.events as Record<string, unknown>[])[0]).toMatchObject({ id: a.body.event_id, event_type: 'user.created', entity_id: 'user-7', payload: { name: 'Ann', plan: 'free' } })
    const now = await call(base, 'GET', '/api/v1/entities/user-7/state?tenant_id=legacy')
    expect(now.body).toMatchObject({ entity_id: 'user-7', current_state: { name: 'Ann', plan: 'pro' }, version: 2 })
    const then = await call(base, 'GET', `/api/v1/entities/user-7/state?tenant_id=legacy&as_of=${encodeURIComponent(asOf)}`)
    expect(then.body).toMatchObject({ current_state: { name: 'Ann', plan: 'free' }, version: 1 })
    expectProblem(await call(base, 'GET', '/api/v1/entities/nobody/state?tenant_id=legacy'), 404, 'NOT_FOUND')
    expectProblem(await call(base, 'POST', '/api/v1/events', { body: { event_type: 'x', entity_id: 'a b', payload: {} } }), 400, 'INVALID_ID')
  })
})

describe('bad input', () => {
  const url = '/v1/tenants/acme/streams/bad-1'
  it('malformed JSON is 400', async () => {
    expectProblem(await call(base, 'POST', url, { raw: '{"events": [', headers: { 'content-type': 'application/json' } }), 400, 'BAD_REQUEST')
  })
  it('a wrong type is 400 with its path; a malformed id is INVALID_ID with its path', async () => {
    const r = await call(base, 'POST', url, { body: { events: [{ type: 5, payload: {} }] } })
    expectProblem(r, 400, 'BAD_REQUEST')
    expect(r.body.path).toBe('events[0].type')
    const id = await call(base, 'POST', url, { body: { events: [{ type: '1bad', payload: {} }] } })
    expectProblem(id, 400, 'INVALID_ID')
    expect(id.body.field).toBe('events[0].type')
    const missing = await call(base, 'POST', url, { body: { events: [{ type: 'ok', payload: null }] } })
    expectProblem(missing, 400, 'BAD_REQUEST')
    expect(missing.body.path).toBe('events[0].payload')
    const version = await call(base, 'POST', url, { body: { events: [{ type: 'ok', payload: 1 }], expectedVersion: 'sometime' } })
    expect(version.body).toMatchObject({ code: 'BAD_REQUEST', path: 'expectedVersion' })
    expectProblem(await call(base, 'POST', url, { body: { events: [] } }), 400, 'BAD_REQUEST')
    expectProblem(await call(base, 'POST', '/v1/tenants/acme/streams/a.b', { body: { events: [{ type: 'ok', payload: 1 }] } }), 400, 'INVALID_ID')
    expectProblem(await call(base, 'GET', '/v1/tenants/acme/streams/x?limit=abc'), 400, 'BAD_REQUEST')
  })
  it('too many events and a body over the limit are 413', async () => {
    const many = await call(base, 'POST', url, { body: { events: Array.from({ length: 101 }, () => ({ type: 'x', payload: 1 })) } })
    expectProblem(many, 413, 'TOO_LARGE')
    const big = await call(base, 'POST', url, { body: { events: [{ type: 'x', payload: 'y'.repeat(70 * 1024) }] } })
    expectProblem(big, 413, 'TOO_LARGE')
  })
  it('deep nesting is 400, not a crash', async () => {
    expectProblem(await call(base, 'POST', url, { raw: `{"events":[{"type":"x","payload":${'['.repeat(5000)}${']'.repeat(5000)}}]}`, headers: { 'content-type': 'application/json' } }), 400, 'BAD_REQUEST')
  })
  it('an unknown route is 404, a wrong method 405 with Allow, a body that is not JSON 415', async () => {
    expectProblem(await call(base, 'GET', '/v1/nowhere'), 404, 'NOT_FOUND')
    const m = await call(base, 'PUT', url, { body: {} })
    expectProblem(m, 405, 'BAD_REQUEST')
    expect(m.headers.get('allow')).toMatch(/GET/)
    expect(m.headers.get('allow')).toMatch(/POST/)
    expectProblem(await call(base, 'POST', url, { raw: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'BAD_REQUEST')
    expectProblem(await call(base, 'POST', url), 400, 'BAD_REQUEST')
  })
  it('echoes a request id and names it as the problem instance', async () => {
    const r = await call(base, 'GET', '/v1/nowhere', { headers: { 'x-request-id': 'req-42' } })
    expect(r.headers.get('x-request-id')).toBe('req-42')
    expect(r.body.instance).toBe('req-42')
    const gen = await call(base, 'GET', '/health', { headers: { 'x-request-id': 'has space' } })
    expect(gen.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
  it('carries the request id and traceparent of an HTTP append into the commit headers', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const r = await call(base, 'POST', '/v1/tenants/acme/streams/traced-1', { body: { events: [{ type: 't', payload: {} }] }, headers: { 'x-request-id': 'req-http-1', traceparent } })
    expect(r.status).toBe(201)
    const stored = await (await jetstreamManager(f.nc)).streams.getMessage('ALLSOURCE_EVENTS', { seq: (r.body as { offset: number }).offset })
    expect(stored?.header.get('AllSource-Request-Id')).toBe('req-http-1')
    // Tracing is off here: the client's trace context passes through unchanged.
    expect(stored?.header.get('traceparent')).toBe(traceparent)
  })
})

describe('operations and documents', () => {
  it('/health, /ready, /metrics (absent here: 404), and admin routes say auth is off', async () => {
    expect((await call(base, 'GET', '/health')).body).toMatchObject({ status: 'ok', auth: 'off' })
    expect((await call(base, 'GET', '/ready')).status).toBe(200)
    expectProblem(await call(base, 'GET', '/metrics'), 404, 'NOT_FOUND')
    const admin = await call(base, 'POST', '/v1/admin/tenants', { body: { tenant: 'x' } })
    expectProblem(admin, 404, 'NOT_FOUND')
    expect(admin.body.detail).toMatch(/auth/)
  })

  it('serves a valid OpenAPI 3.1 document with the contract routes, and the docs page', async () => {
    const doc = (await call(base, 'GET', '/openapi.json')).body
    expect(doc.openapi).toBe('3.1.0')
    const paths = Object.keys(doc.paths as object)
    for (const p of ['/v1/tenants/{tenant}/streams/{stream}', '/v1/tenants/{tenant}/events', '/v1/tenants/{tenant}/events/{id}', '/v1/tenants/{tenant}/projections/{name}/{key}', '/api/v1/events', '/api/v1/entities/{id}/state']) expect(paths).toContain(p)
    const append = (doc.paths as Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>>)['/v1/tenants/{tenant}/streams/{stream}']?.post
    expect(Object.keys(append?.requestBody.content['application/json']?.schema.properties ?? {})).toEqual(['events', 'expectedVersion', 'commitId'])
    const result = await validate(structuredClone(doc) as never)
    expect(result.valid ? [] : result.errors).toEqual([])
    await parse(structuredClone(doc) as never)
    const docs = await fetch(`${base}/docs`, { redirect: 'follow' })
    expect(docs.status).toBe(200)
    expect(await docs.text()).toMatch(/swagger/i)
  })

  it('tells the request observer the route pattern, never the URL', () => {
    expect(done.some((d) => d.route === '/v1/tenants/:tenant/streams/:stream' && d.method === 'POST' && d.status === 201)).toBe(true)
    expect(done.every((d) => !d.route.includes('order-1'))).toBe(true)
  })
})
