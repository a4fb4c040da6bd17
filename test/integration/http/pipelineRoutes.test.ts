/**
 * The pipeline routes `/v1/tenants/{tenant}/pipelines…` against a real nats-server, control plane
 * and processor: the NATS admin subjects' bodies, replies and error codes over HTTP; the
 * `manageProjections` row of the permission table per role; attempts on another tenant; the
 * OpenAPI document; and a bounded fuzz of the routes.
 */
import { validate } from '@readme/openapi-parser'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { headers } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statusOf } from '../../../src/adapters/nats/service/errorCodes.js'
import { type AuthGatewayFixture, seedTenantsAndKeys, startAuthGatewayFixture, TENANT_KEYS } from '../../support/authGatewayFixture.js'
import { pipelineAdminBody } from '../../support/fuzz/fuzzInputs.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'
import { call, type GatewayFixture, startGatewayFixture } from '../../support/gatewayFixture.js'
import { waitFor } from '../../support/projections.js'

let f: AuthGatewayFixture
let base: string
const keys: Record<string, string> = {}
const op = () => ({ authorization: `ApiKey ${f.operatorKey}` })
const as = (who: string) => ({ authorization: `ApiKey ${keys[who] ?? ''}` })
const path = (tenant: string, rest = '') => `/v1/tenants/${tenant}/pipelines${rest}`

const definition = {
  name: 'big-orders',
  stages: [{ filter: 'type = "order.placed" and payload.total > 40' }, { reduce: { key: 'payload.customer', aggregates: { n: { count: true }, sum: { sum: 'payload.total' } } } }],
  sink: { readModel: {} },
}

beforeAll(async () => {
  f = await startAuthGatewayFixture()
  base = f.gateway.url
  Object.assign(keys, await seedTenantsAndKeys(f, ['acme', 'globex'], [...TENANT_KEYS, ['acme-service', 'acme', 'service']]))
  for (const [customer, total] of [['c1', 100], ['c1', 10], ['c2', 50]] as const) {
    const r = await f.app.append('acme', `order-${customer}-${total}`, [{ type: 'order.placed', payload: { customer, total } }])
    if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  }
}, 120_000)
afterAll(() => f?.stop())

describe('the pipeline admin subjects over HTTP', () => {
  it('create, list, get, pause, resume, rebuild and delete answer the NATS replies; the pipeline runs', async () => {
    const created = await call(base, 'POST', path('acme'), { body: definition, headers: as('acme-dev') })
    expect([created.status, created.body]).toMatchObject([201, { name: 'big-orders', projection: 'acme--big-orders', version: 1, definition }])
    const status = async () => ((await call(base, 'GET', path('acme', '/big-orders'), { headers: as('acme-dev') })).body.status ?? {}) as { state?: string; lag?: number; generation?: number }
    await waitFor(async () => (await status()).state === 'live' && (await status()).lag === 0)
    const entry = await call(base, 'GET', '/v1/tenants/acme/projections/acme--big-orders/c1', { headers: as('acme-reader') })
    expect(entry.body).toMatchObject({ state: { value: { n: 1, sum: 100 } } })

    const got = await call(base, 'GET', path('acme', '/big-orders'), { headers: as('acme-admin') })
    expect(got.body).toMatchObject({ name: 'big-orders', projection: 'acme--big-orders', version: 1, definition, createdAt: expect.any(String) })
    expect((await call(base, 'GET', path('acme'), { headers: op() })).body).toMatchObject({ pipelines: [{ name: 'big-orders', projection: 'acme--big-orders', version: 1 }] })
    // Sending the same definition again changes nothing; a changed one needs a higher version.
    expect((await call(base, 'POST', path('acme'), { body: definition, headers: as('acme-dev') })).status).toBe(201)
    const changed = await call(base, 'POST', path('acme'), { body: { ...definition, stages: definition.stages.slice(1) }, headers: as('acme-dev') })
    expect([changed.status, changed.body.code, changed.body.field]).toEqual([400, 'BAD_REQUEST', 'version'])

    expect((await call(base, 'POST', path('acme', '/big-orders/pause'), { headers: as('acme-dev') })).body).toMatchObject({ name: 'big-orders', control: { paused: true } })
    await waitFor(async () => (await status()).state === 'paused')
    expect((await call(base, 'POST', path('acme', '/big-orders/resume'), { body: {}, headers: as('acme-dev') })).body).toMatchObject({ name: 'big-orders', control: { paused: false } })
    const rebuilt = await call(base, 'POST', path('acme', '/big-orders/rebuild'), { body: { fromOffset: 0 }, headers: as('acme-dev') })
    expect(rebuilt.body).toMatchObject({ name: 'big-orders', control: { rebuild: { fromOffset: 0 } } })
    await waitFor(async () => (await status()).generation === 2 && (await status()).state === 'live')

    expect((await call(base, 'DELETE', path('acme', '/big-orders'), { headers: as('acme-dev') })).body).toEqual({ name: 'big-orders', deleted: true })
    const gone = await call(base, 'GET', path('acme', '/big-orders'), { headers: as('acme-dev') })
    expect([gone.status, gone.body.code]).toEqual([404, 'NOT_FOUND'])
    expect((await call(base, 'GET', path('acme'), { headers: as('acme-dev') })).body).toEqual({ pipelines: [] })
  })

  it('answers bad input with the NATS error codes, as problem details', async () => {
    const h = as('acme-dev')
    const badStage = await call(base, 'POST', path('acme'), { body: { ...definition, stages: [{ reduce: { aggregates: { n: { count: 1 } } } }] }, headers: h })
    expect([badStage.status, badStage.body.code, badStage.body.path]).toEqual([400, 'BAD_REQUEST', 'pipeline.stages[0].reduce.aggregates.n.count'])
    expect(badStage.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect((await call(base, 'POST', path('acme'), { body: { ...definition, name: 'a--b' }, headers: h })).body).toMatchObject({ status: 400, code: 'INVALID_ID', field: 'name' })
    expect((await call(base, 'POST', path('acme'), { body: { ...definition, surprise: 1 }, headers: h })).body).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await call(base, 'POST', path('acme'), { headers: h })).status).toBe(400)
    expect((await call(base, 'POST', path('acme'), { body: [definition], headers: h })).body).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await call(base, 'GET', path('acme', '/ghost'), { headers: h })).body).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect((await call(base, 'POST', path('acme', '/ghost/pause'), { headers: h })).body).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect((await call(base, 'DELETE', path('acme', '/-x'), { headers: h })).body).toMatchObject({ code: 'INVALID_ID' })
    expect((await call(base, 'POST', path('acme', '/ghost/pause'), { body: { extra: 1 }, headers: h })).body).toMatchObject({ code: 'BAD_REQUEST', field: 'extra' })
    expect((await call(base, 'POST', path('acme', '/ghost/rebuild'), { body: { fromOffset: -1 }, headers: h })).body).toMatchObject({ code: 'BAD_REQUEST', field: 'fromOffset' })
    expect((await call(base, 'POST', path('acme', '/ghost/explode'), { headers: h })).status).toBe(404)
    expect((await call(base, 'GET', path('a.b'), { headers: op() })).body).toMatchObject({ code: 'INVALID_ID' })
    // A tenant and name over the projection name's 64 characters together.
    expect((await call(base, 'POST', path('acme'), { body: { ...definition, name: 'n'.repeat(60) }, headers: h })).body).toMatchObject({ code: 'BAD_REQUEST', field: 'name' })
  })
})

describe('HTTP and NATS answer alike (auth off)', () => {
  let open: GatewayFixture
  beforeAll(async () => {
    open = await startGatewayFixture()
  }, 60_000)
  afterAll(() => open?.stop())

  /** The NATS reply to a JSON request on `allsource.admin.acme.pipelines.<command>`. */
  const nats = async (command: string, body?: unknown): Promise<Record<string, unknown>> => {
    const h = headers()
    h.set('Content-Type', 'application/json')
    const m = await open.nc.request(`allsource.admin.acme.pipelines.${command}`, JSON.stringify(body ?? {}), { headers: h, timeout: 10_000 })
    return m.json<Record<string, unknown>>()
  }
  /** A problem's contract error as NATS carries it: `{ code, message, …details }`. */
  const asNatsError = (problem: Record<string, unknown>) => {
    const { type: _type, title: _title, status: _status, instance: _instance, detail, code, ...details } = problem
    return { error: { code, message: detail, ...details } }
  }

  it('the same bodies give the same replies and the same errors', async () => {
    const viaHttp = await call(open.gateway.url, 'POST', path('acme'), { body: definition })
    const { status: _s1, ...httpCreated } = viaHttp.body
    const { status: _s2, ...natsCreated } = await nats('create', definition)
    expect(httpCreated).toEqual(natsCreated)
    const { status: _s3, ...httpGot } = (await call(open.gateway.url, 'GET', path('acme', '/big-orders'))).body
    const { status: _s4, ...natsGot } = await nats('get', { name: 'big-orders' })
    expect(httpGot).toEqual(natsGot)
    expect((await call(open.gateway.url, 'POST', path('acme', '/big-orders/pause'))).body).toEqual(await nats('pause', { name: 'big-orders' }))
    const badDefinition = { ...definition, stages: [{ map: { fields: 7 } }] }
    const failures: [string, string, string, unknown, unknown][] = [
      ['POST', path('acme'), 'create', badDefinition, badDefinition],
      ['POST', path('acme'), 'create', { ...definition, name: 'a--b' }, { ...definition, name: 'a--b' }],
      ['POST', path('acme'), 'create', { ...definition, stages: [] , version: 1, sink: {} }, { ...definition, stages: [], version: 1, sink: {} }],
      ['GET', path('acme', '/ghost'), 'get', undefined, { name: 'ghost' }],
      ['POST', path('acme', '/big-orders/rebuild'), 'rebuild', { fromOffset: 10 ** 12 }, { name: 'big-orders', fromOffset: 10 ** 12 }],
      ['POST', path('acme', '/big-orders/resume'), 'resume', { why: 1 }, { name: 'big-orders', why: 1 }],
    ]
    for (const [method, p, command, httpBody, natsBody] of failures) {
      const r = await call(open.gateway.url, method, p, httpBody !== undefined ? { body: httpBody } : {})
      expect([p, command, asNatsError(r.body)]).toEqual([p, command, await nats(command, natsBody)])
    }
  })
})

describe('who may (manageProjections: developer, admin, operator)', () => {
  it('each role is allowed or refused per the permission table; no credential is 401', async () => {
    const allowed = { 'acme-admin': true, 'acme-dev': true, 'acme-reader': false, 'acme-service': false } as const
    for (const [who, ok] of Object.entries(allowed)) {
      const name = `by-${who}`
      const created = await call(base, 'POST', path('acme'), { body: { ...definition, name }, headers: as(who) })
      const listed = await call(base, 'GET', path('acme'), { headers: as(who) })
      const paused = await call(base, 'POST', path('acme', `/${name}/pause`), { headers: as(who) })
      for (const r of [created, listed, paused]) expect([who, ok ? r.status < 300 : [r.status, r.body.code, r.body.reason]]).toEqual([who, ok ? true : [403, 'FORBIDDEN', 'role']])
    }
    const byOperator = await call(base, 'POST', path('acme'), { body: { ...definition, name: 'by-operator' }, headers: op() })
    expect(byOperator.status).toBe(201)
    const names = ((await call(base, 'GET', path('acme'), { headers: op() })).body.pipelines as { name: string }[]).map((p) => p.name)
    expect(names).toEqual(['by-acme-admin', 'by-acme-dev', 'by-operator'])
    for (const [method, p] of [['GET', path('acme')], ['POST', path('acme')], ['DELETE', path('acme', '/by-operator')]] as const) {
      const r = await call(base, method, p, method === 'POST' ? { body: definition } : {})
      expect([method, r.status, r.body.code]).toEqual([method, 401, 'UNAUTHORIZED'])
    }
    for (const name of names) expect((await call(base, 'DELETE', path('acme', `/${name}`), { headers: op() })).status).toBe(200)
  })

  it("another tenant's pipelines are refused on every route (403, tenant), and nothing is created or changed there", async () => {
    expect((await call(base, 'POST', path('globex'), { body: { ...definition, name: 'globex-own' }, headers: as('globex-dev') })).status).toBe(201)
    const attempts: [string, string, unknown?][] = [
      ['POST', path('globex'), { ...definition, name: 'intruder' }],
      ['GET', path('globex')],
      ['GET', path('globex', '/globex-own')],
      ['DELETE', path('globex', '/globex-own')],
      ['POST', path('globex', '/globex-own/pause')],
      ['POST', path('globex', '/globex-own/resume')],
      ['POST', path('globex', '/globex-own/rebuild'), { fromOffset: 0 }],
    ]
    for (const who of ['acme-admin', 'acme-dev']) {
      for (const [method, p, body] of attempts) {
        const r = await call(base, method, p, { ...(body !== undefined ? { body } : {}), headers: as(who) })
        expect([who, method, p, r.status, r.body.code, r.body.reason]).toEqual([who, method, p, 403, 'FORBIDDEN', 'tenant'])
        expect(r.text).not.toContain('payload.total')
      }
    }
    const own = await call(base, 'GET', path('globex'), { headers: as('globex-dev') })
    expect(own.body).toMatchObject({ pipelines: [{ name: 'globex-own' }] })
    expect((own.body.pipelines as unknown[]).length).toBe(1)
    expect((await call(base, 'GET', path('globex', '/globex-own'), { headers: as('globex-dev') })).body).not.toMatchObject({ status: { state: 'paused' } })
    // Acme's own list never shows globex's pipeline.
    expect((await call(base, 'GET', path('acme'), { headers: as('acme-dev') })).text).not.toContain('globex-own')
    expect((await call(base, 'DELETE', path('globex', '/globex-own'), { headers: as('globex-dev') })).status).toBe(200)
  })
})

describe('the OpenAPI document', () => {
  it('has the pipeline routes with their bodies and replies, and is valid', async () => {
    const doc = (await call(base, 'GET', '/openapi.json')).body
    const paths = doc.paths as Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; responses: Record<string, unknown> }>>
    expect(Object.keys(paths['/v1/tenants/{tenant}/pipelines'] ?? {}).sort()).toEqual(['get', 'post'])
    expect(Object.keys(paths['/v1/tenants/{tenant}/pipelines/{name}'] ?? {}).sort()).toEqual(['delete', 'get'])
    for (const c of ['pause', 'resume', 'rebuild']) expect(Object.keys(paths[`/v1/tenants/{tenant}/pipelines/{name}/${c}`] ?? {})).toEqual(['post'])
    expect(Object.keys(paths['/v1/tenants/{tenant}/pipelines']?.post?.requestBody?.content['application/json']?.schema.properties ?? {})).toEqual(['name', 'stages', 'sink', 'version', 'description'])
    expect(Object.keys(paths['/v1/tenants/{tenant}/pipelines']?.post?.responses ?? {})).toContain('201')
    const result = await validate(structuredClone(doc) as never)
    expect(result.valid ? [] : result.errors).toEqual([])
  })
})

describe('fuzz', () => {
  const ROUTES: readonly [string, string][] = [
    ['POST', ''],
    ['GET', ''],
    ['GET', '/{n}'],
    ['DELETE', '/{n}'],
    ['POST', '/{n}/pause'],
    ['POST', '/{n}/resume'],
    ['POST', '/{n}/rebuild'],
    ['POST', '/{n}/{n}'],
  ]
  const token = fc.oneof(fc.constantFrom('acme', 'globex', 'fz-a', 'fz-b', 'ghost', 'a.b', '*', '>', '%20', '..', '-x', 'a--b', 'é', 'a'.repeat(300)), fc.string({ maxLength: 20 }).map(encodeURIComponent))
  /** JSON text of a fuzz body (64-bit integers as numbers), truncated, or not JSON at all. */
  const text = (b: unknown) => JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? 'null'
  const raw = fc.oneof(pipelineAdminBody.map(text), pipelineAdminBody.map((b) => text(b).slice(0, -1)), fc.string({ maxLength: 100 }), fc.constant('['.repeat(300)), fc.constant(undefined))
  const request = fc.record({
    route: fc.constantFrom(...ROUTES),
    method: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH') }),
    t: fc.oneof({ weight: 4, arbitrary: fc.constant('acme') }, { weight: 1, arbitrary: token }),
    n: token,
    raw,
    contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', undefined),
    auth: fc.constantFrom('none', 'dev', 'reader', 'garbage', 'operator', 'other-tenant'),
  })
  const CONTRACT = new Set([200, 201, 400, 401, 403, 404, 405, 413, 415, 429, 503])

  it('every answer is a contract status with a problem for failures; only accepted creates are stored', async () => {
    const created = new Set<string>()
    const headersOf = (a: string): Record<string, string> =>
      a === 'dev' ? as('acme-dev') : a === 'reader' ? as('acme-reader') : a === 'other-tenant' ? as('globex-dev') : a === 'operator' ? op() : a === 'garbage' ? { authorization: 'Bearer eyJ.garbage' } : {}
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const method = r.method ?? r.route[0]
        const p = path(r.t, r.route[1].replace(/\{n\}/g, r.n))
        const headers = { ...headersOf(r.auth), ...(r.contentType !== undefined ? { 'content-type': r.contentType } : {}), 'x-request-id': 'fuzz-pl' }
        const res = await call(base, method, p, { ...(r.raw !== undefined && method !== 'GET' ? { raw: r.raw } : {}), headers })
        expect(CONTRACT, `${method} ${p} → ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status)
        expect(res.headers.get('x-request-id')).toBe('fuzz-pl')
        if (res.status >= 400) {
          expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
          expect(Object.keys(statusOf)).toContain(res.body.code)
          expect(res.body.status).toBe(res.status)
          expect(typeof res.body.detail).toBe('string')
        } else if (method === 'POST' && r.route[1] === '' && res.status === 201) created.add(`${r.t}/${String(res.body.name)}`)
      }),
      { numRuns: fuzzRuns(120), ...fuzzSeed(20261205) },
    )
    for (const tenant of ['acme', 'globex']) {
      const listed = await call(base, 'GET', path(tenant), { headers: op() })
      for (const p of listed.body.pipelines as { name: string }[]) expect(created, `${tenant}/${p.name} stored without a 201`).toContain(`${tenant}/${p.name}`)
    }
    expect((await call(base, 'GET', '/health')).status).toBe(200)
  }, fuzzTimeout(120, 600, 90_000))
})
