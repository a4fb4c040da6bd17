/**
 * Fuzzes every gateway route (fast-check, bounded, seeded) against a real nats-server and
 * processor, auth off and auth on: generated and mutated paths, query strings, headers and bodies.
 * Each answer must be a contract status with a well-formed problem for every failure (never 500),
 * echo a request id, and no rejected request may write an event.
 */
import { jetstreamManager } from '@nats-io/jetstream'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statusOf } from '../../../src/adapters/nats/service/errorCodes.js'
import { type AuthGatewayFixture, startAuthGatewayFixture } from '../../support/authGatewayFixture.js'
import { call, type GatewayFixture, startGatewayFixture } from '../../support/gatewayFixture.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'

let open: GatewayFixture
let authed: AuthGatewayFixture
let devKey = ''

beforeAll(async () => {
  open = await startGatewayFixture({ bodyLimit: 16 * 1024 })
  authed = await startAuthGatewayFixture()
  const op = { authorization: `ApiKey ${authed.operatorKey}` }
  await call(authed.gateway.url, 'POST', '/v1/admin/tenants', { body: { tenant: 'acme', tier: 'unlimited' }, headers: op })
  devKey = String((await call(authed.gateway.url, 'POST', '/v1/admin/acme/keys', { body: { role: 'admin' }, headers: op })).body.key)
}, 120_000)
afterAll(async () => {
  await open?.stop()
  await authed?.stop()
})

const ROUTES: readonly [string, string][] = [
  ['POST', '/v1/tenants/{t}/streams/{s}'],
  ['GET', '/v1/tenants/{t}/streams/{s}'],
  ['GET', '/v1/tenants/{t}/streams'],
  ['GET', '/v1/tenants/{t}/events'],
  ['GET', '/v1/tenants/{t}/events/{s}'],
  ['GET', '/v1/tenants/{t}/projections'],
  ['GET', '/v1/tenants/{t}/projections/{s}'],
  ['GET', '/v1/tenants/{t}/projections/{s}/{s}'],
  ['POST', '/v1/tenants/{t}/subscriptions'],
  ['GET', '/v1/tenants/{t}/subscriptions/{s}'],
  ['POST', '/v1/tenants/{t}/subscriptions/{s}/reset'],
  ['DELETE', '/v1/tenants/{t}/subscriptions/{s}'],
  ['GET', '/v1/tenants/{t}/dlq'],
  ['POST', '/v1/tenants/{t}/dlq/{s}/redrive'],
  ['POST', '/v1/tenants/{t}/analytics/{s}'],
  ['POST', '/v1/tenants/{t}/analytics/summary'],
  ['POST', '/v1/tenants/{t}/analytics/funnel'],
  ['POST', '/v1/tenants/{t}/pipelines'],
  ['GET', '/v1/tenants/{t}/pipelines/{s}'],
  ['POST', '/v1/tenants/{t}/pipelines/{s}/rebuild'],
  ['POST', '/v1/admin/projections/{s}/{s}'],
  ['POST', '/v1/admin/projections/{s}/rebuild'],
  ['POST', '/api/v1/events'],
  ['GET', '/api/v1/events/query'],
  ['GET', '/api/v1/entities/{s}/state'],
  ['POST', '/v1/admin/tenants'],
  ['GET', '/v1/admin/tenants'],
  ['GET', '/v1/admin/tenants/{t}'],
  ['PATCH', '/v1/admin/tenants/{t}'],
  ['POST', '/v1/admin/tenants/{t}/suspend'],
  ['POST', '/v1/admin/{t}/keys'],
  ['GET', '/v1/admin/{t}/keys'],
  ['DELETE', '/v1/admin/{t}/keys/{s}'],
  ['POST', '/v1/admin/{t}/users'],
  ['GET', '/v1/admin/{t}/users'],
  ['DELETE', '/v1/admin/{t}/users/{s}'],
  ['POST', '/v1/admin/{t}/policies'],
  ['GET', '/v1/admin/{t}/policies'],
  ['POST', '/v1/admin/{t}/policies/evaluate'],
  ['GET', '/v1/admin/{t}/stats'],
  ['GET', '/v1/admin/{t}/audit'],
  ['POST', '/v1/auth/login'],
  ['POST', '/v1/auth/refresh'],
  ['POST', '/v1/auth/token'],
  ['GET', '/health'],
  ['GET', '/nowhere/{s}'],
]

const token = fc.oneof(
  fc.constantFrom('acme', 'order-1', 'entity-state', 'x', '1', 'a.b', '*', '>', '%20', '..', 'tenants', 'é', 'a'.repeat(300)),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
)
const validEvent = fc.record({ type: fc.constantFrom('order.placed', 'x', 'user.created'), payload: fc.oneof(fc.jsonValue(), fc.constant({ n: 1 })) })
const body = fc.oneof(
  fc.record({ events: fc.array(validEvent, { minLength: 1, maxLength: 3 }) }, { requiredKeys: [] }),
  fc.record({ events: fc.array(fc.anything(), { maxLength: 3 }), expectedVersion: fc.oneof(fc.integer(), fc.string(), fc.constant('any')), commitId: fc.string() }, { requiredKeys: [] }),
  fc.record({ event_type: fc.string(), entity_id: fc.string(), payload: fc.jsonValue(), tenant_id: fc.string() }, { requiredKeys: [] }),
  fc.record({ fromOffset: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(2 ** 60)) }, { requiredKeys: [] }),
  fc.record({ tenant: token, role: fc.constantFrom('admin', 'reader', 'god'), name: fc.string(), username: fc.string(), password: fc.string(), to: fc.oneof(fc.string(), fc.nat()) }, { requiredKeys: [] }),
  fc.jsonValue(),
)
const raw = fc.oneof(
  body.map((b) => JSON.stringify(b) ?? 'null'),
  body.map((b) => (JSON.stringify(b) ?? 'null').slice(0, -1)),
  fc.string({ maxLength: 200 }),
  fc.constant('['.repeat(300)),
  fc.constant(`{"events":[{"type":"x","payload":"${'y'.repeat(17 * 1024)}"}]}`),
  fc.constant(undefined),
)
const query = fc.dictionary(fc.constantFrom('limit', 'prefix', 'after', 'fromVersion', 'fromOffset', 'since', 'until', 'type', 'stream', 'id', 'where', 'minOffset', 'timeoutMs', 'tenant_id', 'as_of', 'entity_id', 'includeDeleted'), fc.oneof(fc.string({ maxLength: 12 }), fc.nat().map(String), fc.constant('{"eq":["type","x"]}')), { maxKeys: 3 })
const request = fc.record({
  route: fc.constantFrom(...ROUTES),
  method: fc.oneof(fc.constant(undefined), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH')),
  t: token,
  s: token,
  query,
  raw,
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined),
  auth: fc.constantFrom('none', 'key', 'garbage', 'operator'),
})

const CONTRACT_STATUSES = new Set([200, 201, 204, 400, 401, 403, 404, 405, 409, 412, 413, 415, 429, 503])

const runFuzz = async (base: string, headersOf: (auth: string) => Record<string, string>, succeeded: Set<string>) => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const method = r.method ?? r.route[0]
      const path = r.route[1].replace('{t}', r.t).replace(/\{s\}/g, r.s)
      const qs = new URLSearchParams(r.query).toString()
      const headers: Record<string, string> = { ...headersOf(r.auth), ...(r.contentType !== undefined ? { 'content-type': r.contentType } : {}), 'x-request-id': 'fuzz-1' }
      const res = await call(base, method, `${path}${qs === '' ? '' : `?${qs}`}`, { ...(r.raw !== undefined && method !== 'GET' ? { raw: r.raw } : {}), headers })
      expect(CONTRACT_STATUSES, `${method} ${path} → ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status)
      expect(res.headers.get('x-request-id')).toBe('fuzz-1')
      if (res.status >= 400) {
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
        const code = res.body.code as keyof typeof statusOf
        expect(Object.keys(statusOf)).toContain(code)
        expect(res.body.status).toBe(res.status)
        expect(typeof res.body.detail).toBe('string')
      } else if (method === 'POST' && (path.startsWith('/v1/tenants/') || path.startsWith('/api/v1/events'))) {
        const b = res.body as { tenant?: string; stream?: string }
        if (b.tenant !== undefined && b.stream !== undefined) succeeded.add(`${b.tenant}.${b.stream}`)
        if (path.startsWith('/api/v1/events')) succeeded.add('compat')
      }
    }),
    { numRuns: fuzzRuns(150), ...fuzzSeed(20261204) },
  )
}

/** Every stream subject in the log belongs to a request answered with success. */
const onlyAcceptedWritten = async (nc: GatewayFixture['nc'], succeeded: Set<string>) => {
  const info = await (await jetstreamManager(nc)).streams.info('ALLSOURCE_EVENTS', { subjects_filter: 'allsource.events.>' })
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const key = subject.slice('allsource.events.'.length)
    if (!succeeded.has(key)) expect(succeeded.has('compat'), `unexpected events on ${subject}`).toBe(true)
  }
}

describe('gateway fuzz', () => {
  it('auth off: every answer is a contract status with a problem for failures; nothing rejected is written', async () => {
    const succeeded = new Set<string>()
    await runFuzz(open.gateway.url, () => ({}), succeeded)
    await onlyAcceptedWritten(open.nc, succeeded)
    expect((await call(open.gateway.url, 'POST', '/v1/tenants/acme/streams/after-fuzz', { body: { events: [{ type: 'x', payload: 1 }] } })).status).toBe(201)
  }, fuzzTimeout(150, 400, 60_000))

  it('auth on: the same, with no, garbage, tenant and operator credentials', async () => {
    const succeeded = new Set<string>()
    const headersOf = (auth: string): Record<string, string> =>
      auth === 'key' ? { authorization: `ApiKey ${devKey}` } : auth === 'operator' ? { authorization: `ApiKey ${authed.operatorKey}` } : auth === 'garbage' ? { authorization: 'Bearer eyJ.garbage' } : {}
    await runFuzz(authed.gateway.url, headersOf, succeeded)
    await onlyAcceptedWritten(authed.nc, succeeded)
    expect((await call(authed.gateway.url, 'GET', '/health')).status).toBe(200)
  }, fuzzTimeout(150, 600, 90_000))
})
