/**
 * The gateway in auth mode against a real nats-server, control plane and processor: credentials
 * (keys, the operator key, users' access tokens), the permission table, attempts to cross into
 * another tenant on every route, rate limits (429), and no secret in any answer but its own.
 */
import { validate } from '@readme/openapi-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call } from '../../support/gatewayFixture.js'
import { type AuthGatewayFixture, seedTenantsAndKeys, startAuthGatewayFixture, TENANT_KEYS } from '../../support/authGatewayFixture.js'

let f: AuthGatewayFixture
let base: string
const keys: Record<string, string> = {}
const op = () => ({ authorization: `ApiKey ${f.operatorKey}` })
const as = (who: string) => ({ authorization: `ApiKey ${keys[who] ?? ''}` })

beforeAll(async () => {
  f = await startAuthGatewayFixture()
  base = f.gateway.url
  Object.assign(keys, await seedTenantsAndKeys(f, ['acme', 'globex'], TENANT_KEYS))
  const seed = await call(base, 'POST', '/v1/tenants/globex/streams/secret-1', { body: { events: [{ type: 'globex.secret', payload: { plan: 'world domination' } }] }, headers: as('globex-dev') })
  expect(seed.status).toBe(201)
}, 120_000)
afterAll(() => f?.stop())

describe('credentials', () => {
  it('no credentials, garbage, a wrong scheme or a made-up key are 401 with WWW-Authenticate, and say nothing of the credential', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer garbage' }, { authorization: `Basic ${keys['acme-dev']}` }, { authorization: `ApiKey ${(keys['acme-dev'] ?? '').slice(0, -3)}abc` }]) {
      const r = await call(base, 'GET', '/v1/tenants/acme/streams/a', { headers })
      expect(r.status).toBe(401)
      expect(r.body.code).toBe('UNAUTHORIZED')
      expect(r.headers.get('www-authenticate')).toMatch(/Bearer/)
      expect(r.text).not.toContain(keys['acme-dev'])
    }
  })

  it('a key appends and reads in its own tenant; the operator acts on any tenant', async () => {
    const a = await call(base, 'POST', '/v1/tenants/acme/streams/order-1', { body: { events: [{ type: 'order.placed', payload: { total: 1 } }] }, headers: as('acme-dev') })
    expect(a.status).toBe(201)
    expect((await call(base, 'GET', '/v1/tenants/acme/streams/order-1', { headers: as('acme-reader') })).body).toMatchObject({ version: 1 })
    expect((await call(base, 'GET', '/v1/tenants/globex/streams/secret-1', { headers: op() })).body).toMatchObject({ version: 1 })
  })

  it('a role without the operation is 403 (reader appends, developer manages keys, tenant admin manages tenants)', async () => {
    const r = await call(base, 'POST', '/v1/tenants/acme/streams/order-1', { body: { events: [{ type: 'x', payload: 1 }] }, headers: as('acme-reader') })
    expect(r.status).toBe(403)
    expect(r.body).toMatchObject({ code: 'FORBIDDEN', reason: 'role' })
    expect((await call(base, 'GET', '/v1/admin/acme/keys', { headers: as('acme-dev') })).body).toMatchObject({ code: 'FORBIDDEN' })
    expect((await call(base, 'POST', '/v1/admin/tenants', { body: { tenant: 'evil' }, headers: as('acme-admin') })).body).toMatchObject({ code: 'FORBIDDEN' })
  })

  it('a key revoked through the gateway is refused at once', async () => {
    const created = await call(base, 'POST', '/v1/admin/acme/keys', { body: { role: 'developer' }, headers: as('acme-admin') })
    const key = String(created.body.key)
    expect((await call(base, 'GET', '/v1/tenants/acme/streams/order-1', { headers: { authorization: `ApiKey ${key}` } })).status).toBe(200)
    expect((await call(base, 'DELETE', `/v1/admin/acme/keys/${String(created.body.keyId)}`, { headers: as('acme-admin') })).status).toBe(200)
    expect((await call(base, 'GET', '/v1/tenants/acme/streams/order-1', { headers: { authorization: `ApiKey ${key}` } })).status).toBe(401)
    const list = await call(base, 'GET', '/v1/admin/acme/keys', { headers: as('acme-admin') })
    expect(list.text).not.toContain(key)
    expect(list.text).not.toMatch(/"hash"/)
  })

  it('a user logs in, uses its access token, gets a new one, and refreshes', async () => {
    const created = await call(base, 'POST', '/v1/admin/acme/users', { body: { username: 'ann', password: 'correct horse battery', role: 'developer' }, headers: as('acme-admin') })
    expect(created.status).toBe(201)
    expect(created.text).not.toContain('correct horse battery')
    expect((await call(base, 'POST', '/v1/auth/login', { body: { tenant: 'acme', username: 'ann', password: 'wrong password!!' } })).status).toBe(401)
    const login = await call(base, 'POST', '/v1/auth/login', { body: { tenant: 'acme', username: 'ann', password: 'correct horse battery' } })
    expect(login.status).toBe(200)
    const bearer = { authorization: `Bearer ${String(login.body.accessToken)}` }
    expect((await call(base, 'POST', '/v1/tenants/acme/streams/ann-1', { body: { events: [{ type: 'x', payload: 1 }] }, headers: bearer })).status).toBe(201)
    expect((await call(base, 'GET', '/v1/tenants/globex/streams/secret-1', { headers: bearer })).body).toMatchObject({ code: 'FORBIDDEN', reason: 'tenant' })
    const token = await call(base, 'POST', '/v1/auth/token', { headers: bearer })
    expect(token.status).toBe(200)
    expect(typeof token.body.accessToken).toBe('string')
    const refreshed = await call(base, 'POST', '/v1/auth/refresh', { body: { tenant: 'acme', username: 'ann', refreshToken: login.body.refreshToken } })
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken)
    expect((await call(base, 'POST', '/v1/auth/refresh', { body: { tenant: 'globex', username: 'ann', refreshToken: refreshed.body.refreshToken } })).status).toBe(401)
    expect((await call(base, 'POST', '/v1/auth/token', { headers: op() })).body).toMatchObject({ code: 'FORBIDDEN' })
  })

  it('me, logout, accept-invite and signing-key rotation mirror the NATS subjects', async () => {
    const invited = await call(base, 'POST', '/v1/admin/acme/users/invite', { body: { username: 'cat', role: 'reader' }, headers: as('acme-admin') })
    expect(invited.status, invited.text).toBeLessThan(300)
    const inviteToken = String(invited.body.inviteToken)
    expect((await call(base, 'POST', '/v1/auth/accept-invite', { body: { tenant: 'acme', username: 'cat', inviteToken: 'not the token', password: 'a long enough secret' } })).status).toBe(401)
    const accepted = await call(base, 'POST', '/v1/auth/accept-invite', { body: { tenant: 'acme', username: 'cat', inviteToken, password: 'a long enough secret' } })
    expect(accepted.status, accepted.text).toBe(200)
    expect(accepted.text).not.toContain('a long enough secret')
    // The token works once.
    expect((await call(base, 'POST', '/v1/auth/accept-invite', { body: { tenant: 'acme', username: 'cat', inviteToken, password: 'another long secret' } })).status).toBe(401)
    const login = await call(base, 'POST', '/v1/auth/login', { body: { tenant: 'acme', username: 'cat', password: 'a long enough secret' } })
    expect(login.status).toBe(200)
    const bearer = { authorization: `Bearer ${String(login.body.accessToken)}` }
    expect((await call(base, 'GET', '/v1/auth/me', { headers: bearer })).body).toMatchObject({ tenant: 'acme', role: 'reader', subject: { kind: 'user', username: 'cat' } })
    expect((await call(base, 'GET', '/v1/auth/me', { headers: as('acme-dev') })).body).toMatchObject({ tenant: 'acme', role: 'developer', subject: { kind: 'key' } })

    // Rotation: the operator only; a token signed by the old key keeps working.
    expect((await call(base, 'POST', '/v1/admin/signing-keys/rotate', { headers: as('acme-admin') })).status).toBe(403)
    const rotated = await call(base, 'POST', '/v1/admin/signing-keys/rotate', { headers: op() })
    expect(rotated.status, rotated.text).toBe(200)
    expect(rotated.body.retired).toEqual(expect.arrayContaining([expect.objectContaining({ kid: expect.any(String) })]))
    expect((await call(base, 'GET', '/v1/auth/me', { headers: bearer })).status).toBe(200)

    // Logout ends the session: its refresh token is refused afterwards.
    expect((await call(base, 'POST', '/v1/auth/logout', { body: { refreshToken: login.body.refreshToken }, headers: bearer })).body).toMatchObject({ revoked: 'session' })
    expect((await call(base, 'POST', '/v1/auth/refresh', { body: { tenant: 'acme', username: 'cat', refreshToken: login.body.refreshToken } })).status).toBe(401)
    expect((await call(base, 'POST', '/v1/auth/logout', { body: { all: true }, headers: as('acme-dev') })).status).toBe(401)
    expect((await call(base, 'POST', '/v1/auth/logout', { body: { nonsense: 1 }, headers: bearer })).status).toBe(400)
  })

  it('password guessing over HTTP spends the same login budget as NATS: past it even the right password is 429', async () => {
    const created = await call(base, 'POST', '/v1/admin/acme/users', { body: { username: 'bob', password: 'correct horse battery', role: 'reader' }, headers: as('acme-admin') })
    expect(created.status).toBe(201)
    const statuses: number[] = []
    for (let i = 0; i < 14; i++) statuses.push((await call(base, 'POST', '/v1/auth/login', { body: { tenant: 'acme', username: 'bob', password: `guess number ${i}` } })).status)
    // The per-user burst is 10 failures (5 more a minute): the first ten are 401, then the budget
    // answers 429 (a slow machine may refill one or two in between, each a 401).
    expect(statuses.slice(0, 10).every((x) => x === 401)).toBe(true)
    expect(statuses.every((x) => x === 401 || x === 429)).toBe(true)
    expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(12)
    expect(statuses.at(-1)).toBe(429)
    const right = await call(base, 'POST', '/v1/auth/login', { body: { tenant: 'acme', username: 'bob', password: 'correct horse battery' } })
    expect(right.status).toBe(429)
    expect(right.body).toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect(typeof right.body.retryAfterMs).toBe('number')
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  })
})

describe('crossing into another tenant', () => {
  it('every data, admin and compatibility route of globex refuses an acme identity (403, tenant), and nothing is written', async () => {
    const dev = as('acme-dev')
    const admin = as('acme-admin')
    const attempts: [string, string, unknown?, Record<string, string>?][] = [
      ['POST', '/v1/tenants/globex/streams/secret-1', { events: [{ type: 'x', payload: 1 }] }, dev],
      ['GET', '/v1/tenants/globex/streams/secret-1', undefined, dev],
      ['GET', '/v1/tenants/globex/streams?prefix=secret', undefined, dev],
      ['GET', '/v1/tenants/globex/events', undefined, dev],
      ['GET', '/v1/tenants/globex/events/some-id', undefined, dev],
      ['GET', '/v1/tenants/globex/projections', undefined, dev],
      ['GET', '/v1/tenants/globex/projections/entity-state', undefined, dev],
      ['GET', '/v1/tenants/globex/projections/entity-state/secret-1', undefined, dev],
      ['POST', '/v1/tenants/globex/subscriptions', { name: 'spy' }, dev],
      ['GET', '/v1/tenants/globex/subscriptions/spy', undefined, dev],
      ['GET', '/v1/tenants/globex/dlq', undefined, dev],
      ['POST', '/v1/tenants/globex/analytics/summary', {}, dev],
      ['POST', '/v1/tenants/globex/analytics/frequency', undefined, dev],
      ['POST', '/v1/tenants/globex/dlq/1/redrive', {}, dev],
      ['POST', '/v1/tenants/globex/pipelines', { name: 'spy', stages: [], sink: { readModel: {} } }, dev],
      ['GET', '/v1/tenants/globex/pipelines', undefined, admin],
      ['POST', '/v1/tenants/globex/pipelines/spy/rebuild', {}, dev],
      ['POST', '/api/v1/events', { event_type: 'x', entity_id: 'secret-1', payload: {}, tenant_id: 'globex' }, dev],
      ['GET', '/api/v1/events/query?tenant_id=globex', undefined, dev],
      ['GET', '/api/v1/entities/secret-1/state?tenant_id=globex', undefined, dev],
      ['GET', '/v1/admin/globex/keys', undefined, admin],
      ['POST', '/v1/admin/globex/keys', { role: 'admin' }, admin],
      ['GET', '/v1/admin/globex/users', undefined, admin],
      ['GET', '/v1/admin/globex/policies', undefined, admin],
      ['GET', '/v1/admin/globex/stats', undefined, admin],
      ['GET', '/v1/admin/globex/audit', undefined, admin],
      ['GET', '/v1/admin/tenants/globex', undefined, admin],
      // Projections are the platform's: pausing one would stop it for every tenant.
      ['POST', '/v1/admin/projections/entity-state/pause', {}, admin],
      ['POST', '/v1/admin/projections/entity-state/rebuild', { fromOffset: 0 }, dev],
    ]
    for (const [method, path, body, headers] of attempts) {
      const r = await call(base, method, path, { ...(body !== undefined ? { body } : {}), headers: headers ?? {} })
      expect([method, path, r.status, r.body.code]).toEqual([method, path, 403, 'FORBIDDEN'])
      expect(r.text).not.toContain('world domination')
    }
    const read = await call(base, 'GET', '/v1/tenants/globex/streams/secret-1', { headers: as('globex-dev') })
    expect(read.body).toMatchObject({ version: 1 })
  })

  it('lists a tenant\'s own streams by prefix, in name order, in pages; never another tenant\'s; bad input is typed', async () => {
    for (const s of ['list-b', 'list-a', 'list-c', 'other-1']) {
      expect((await call(base, 'POST', `/v1/tenants/acme/streams/${s}`, { body: { events: [{ type: 'x', payload: 1 }, { type: 'y', payload: 2 }] }, headers: as('acme-dev') })).status).toBe(201)
    }
    const first = await call(base, 'GET', '/v1/tenants/acme/streams?prefix=list-&limit=2', { headers: as('acme-reader') })
    expect(first.body).toEqual({ streams: [{ stream: 'list-a', commits: 1 }, { stream: 'list-b', commits: 1 }], next: 'list-b' })
    const second = await call(base, 'GET', '/v1/tenants/acme/streams?prefix=list-&limit=2&after=list-b', { headers: as('acme-reader') })
    expect(second.body).toEqual({ streams: [{ stream: 'list-c', commits: 1 }] })
    const all = await call(base, 'GET', '/v1/tenants/acme/streams', { headers: as('acme-reader') })
    expect(all.text).not.toContain('secret-1')
    expect((all.body.streams as { stream: string }[]).map((s) => s.stream)).toContain('other-1')
    expect((await call(base, 'GET', '/v1/tenants/globex/streams', { headers: op() })).body).toEqual({ streams: [{ stream: 'secret-1', commits: 1 }] })
    for (const q of ['prefix=a.b', 'prefix=*', 'prefix=%3E', 'after=x%20y']) expect([q, (await call(base, 'GET', `/v1/tenants/acme/streams?${q}`, { headers: op() })).body.code]).toEqual([q, 'INVALID_ID'])
    for (const q of ['limit=0', 'limit=1001', 'limit=x']) expect([q, (await call(base, 'GET', `/v1/tenants/acme/streams?${q}`, { headers: op() })).status]).toEqual([q, 400])
  })

  it('projection commands over HTTP: only the operator pauses, resumes and rebuilds; bad names and commands are typed errors', async () => {
    const paused = await call(base, 'POST', '/v1/admin/projections/entity-state/pause', { body: {}, headers: op() })
    expect([paused.status, paused.body]).toEqual([200, { name: 'entity-state', control: expect.objectContaining({ paused: true }) }])
    const resumed = await call(base, 'POST', '/v1/admin/projections/entity-state/resume', { headers: op() })
    expect(resumed.body).toMatchObject({ name: 'entity-state', control: { paused: false } })
    const rebuilt = await call(base, 'POST', '/v1/admin/projections/entity-state/rebuild', { body: { fromOffset: 0 }, headers: op() })
    expect(rebuilt.body).toMatchObject({ name: 'entity-state', control: { rebuild: { fromOffset: 0 } } })
    expect((await call(base, 'POST', '/v1/admin/projections/entity-state/status', { headers: op() })).body).toMatchObject({ name: 'entity-state' })
    expect((await call(base, 'POST', '/v1/admin/projections/entity-state/rebuild', { body: { fromOffset: 10 ** 12 }, headers: op() })).body).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await call(base, 'POST', '/v1/admin/projections/entity-state/rebuild', { body: { fromOffset: 'x' }, headers: op() })).body).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await call(base, 'POST', '/v1/admin/projections/entity-state/explode', { headers: op() })).body).toMatchObject({ code: 'BAD_REQUEST' })
    expect((await call(base, 'POST', '/v1/admin/projections/no-such/pause', { headers: op() })).status).toBe(404)
    expect((await call(base, 'POST', '/v1/admin/projections/a.b/pause', { headers: op() })).body).toMatchObject({ code: 'INVALID_ID' })
    for (const who of ['acme-admin', 'acme-dev', 'acme-reader']) {
      const r = await call(base, 'POST', '/v1/admin/projections/entity-state/pause', { headers: as(who) })
      expect([who, r.status, r.body.code]).toEqual([who, 403, 'FORBIDDEN'])
    }
    expect((await call(base, 'POST', '/v1/admin/projections/entity-state/pause')).status).toBe(401)
  })

  it('a tenant in the path cannot be widened: ids with dots, wildcards or spaces are INVALID_ID', async () => {
    for (const t of ['globex.secret-1', '*', '>', 'a%20b']) {
      const r = await call(base, 'GET', `/v1/tenants/${t}/streams/x`, { headers: op() })
      expect([t, r.status]).toEqual([t, 400])
    }
  })
})

describe('quotas and suspension', () => {
  it('appends over the rate are 429 with Retry-After and retryAfterMs; a suspended tenant is refused', async () => {
    expect((await call(base, 'POST', '/v1/admin/tenants', { body: { tenant: 'tiny', quotas: { appendsPerSecond: 1 } }, headers: op() })).status).toBe(201)
    const key = await call(base, 'POST', '/v1/admin/tiny/keys', { body: { role: 'service' }, headers: op() })
    const h = { authorization: `ApiKey ${String(key.body.key)}` }
    const statuses: number[] = []
    let limited: Awaited<ReturnType<typeof call>> | undefined
    for (let i = 0; i < 5; i++) {
      const r = await call(base, 'POST', '/v1/tenants/tiny/streams/s', { body: { events: [{ type: 'x', payload: i }] }, headers: h })
      statuses.push(r.status)
      if (r.status === 429) limited ??= r
    }
    expect(statuses).toContain(429)
    expect(limited?.body).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 'appendsPerSecond', limit: 1 })
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(typeof limited?.body.retryAfterMs).toBe('number')
    expect((await call(base, 'POST', '/v1/admin/tenants/tiny/suspend', { headers: op() })).body).toMatchObject({ status: 'suspended' })
    // The suspension reaches the request path through the tenant directory's KV watch (typically
    // milliseconds, docs/security.md): ask until it is there, for at most 10 s.
    let refused = await call(base, 'GET', '/v1/tenants/tiny/streams/s', { headers: op() })
    for (const until = Date.now() + 10_000; refused.status === 200 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 50))
      refused = await call(base, 'GET', '/v1/tenants/tiny/streams/s', { headers: op() })
    }
    expect(refused.body).toMatchObject({ code: 'TENANT_SUSPENDED' })
  })
})

describe('the OpenAPI document in auth mode', () => {
  it('documents the admin and auth routes too, with the domain codecs, and is valid', async () => {
    const doc = (await call(base, 'GET', '/openapi.json')).body
    const paths = doc.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>>
    for (const p of ['/v1/admin/tenants', '/v1/admin/{tenant}/keys', '/v1/admin/{tenant}/users', '/v1/admin/{tenant}/policies', '/v1/auth/login', '/v1/auth/token']) expect(Object.keys(paths)).toContain(p)
    expect(Object.keys(paths['/v1/admin/tenants/{tenant}']?.get?.responses['200']?.content?.['application/json']?.schema.properties ?? {})).toEqual(['tenant', 'name', 'status', 'tier', 'quotas', 'createdAt'])
    const result = await validate(structuredClone(doc) as never)
    expect(result.valid ? [] : result.errors).toEqual([])
  })
})
