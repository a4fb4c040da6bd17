/**
 * Policies, rate limits and the day's quota on the append and ingest paths of auth mode, and the
 * policy and stats admin endpoints (issue 11 items 1 (stats), 6, 7), against a real nats-server
 * with the real auth callout, processor and plane.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import * as fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { validateAuditQuery } from '../../../src/domain/security/auditQuery.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeMsgpack, encodeMsgpack } from '../../../src/adapters/codec/msgpack.js'
import { tenantConnectOptions, userConnectOptions } from '../../../src/adapters/nats/auth/natsGrants.js'
import { createAllSourceClient } from '../../../src/adapters/nats/service/client.js'
import { statusOf, type ErrorCode } from '../../../src/adapters/nats/service/errorCodes.js'
import { systemClock } from '../../../src/adapters/system/systemClock.js'
import { createKey } from '../../../src/application/auth/apiKeys.js'
import type { TenantId } from '../../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant, type QuotaOverrides } from '../../../src/domain/tenants/tenant.js'
import { type AllSource, createAllSource } from '../../../src/main/allSource.js'
import { type AuthPlane, startAuthPlane } from '../../../src/main/auth/authPlane.js'
import { loadConfig } from '../../../src/main/config.js'
import { type AuthTestServer, startAuthServer } from '../../support/authServer.js'
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../../support/fuzzBudget.js'
import { cleanUp } from '../../support/cleanUp.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: AuthTestServer
let processorNc: NatsConnection
let app: AllSource
let plane: AuthPlane
let dataDir: string
const keys: Record<string, string> = {}
const conns: Record<string, NatsConnection> = {}

/** A request on `subject` as `who`; the reply decoded: `{ ok, value }` or `{ ok: false, code, error }`. */
const ask = async (who: string, subject: string, body?: unknown): Promise<{ ok: true; value: any } | { ok: false; error: any }> => {
  const nc = conns[who]
  if (nc === undefined) throw new Error(who)
  const m = await nc.request(subject, body === undefined ? new Uint8Array() : encodeMsgpack(body), { timeout: 5_000 })
  const v = decodeMsgpack(m.data) as any
  return v !== null && typeof v === 'object' && 'error' in v && m.headers?.get('Nats-Service-Error-Code') ? { ok: false, error: v.error } : { ok: true, value: v }
}
const ok = async (who: string, subject: string, body?: unknown) => {
  const r = await ask(who, subject, body)
  if (!r.ok) throw new Error(JSON.stringify(r.error))
  return r.value
}

const tenant = (t: string, quotas: Record<string, number | null>) => plane.tenants.create(newTenant(t as TenantId, new Date().toISOString() as IsoTimestamp, { quotas: quotas as QuotaOverrides }))()

beforeAll(async () => {
  server = await startAuthServer()
  processorNc = await server.processor()
  dataDir = await mkdtemp(join(tmpdir(), 'allsource-policydata-'))
  const config = { ...loadConfig({}), dataDir, prefix: 'allsource' }
  plane = await startAuthPlane(processorNc, { material: server.material, url: server.url }, config, () => undefined)
  app = await createAllSource({ nc: processorNc, auth: plane.serviceAuth, snapshotEvery: 0, warn: () => undefined })
  await app.serve()
  await tenant('acme', { appendsPerSecond: null })
  await tenant('globex', { appendsPerSecond: null })
  await tenant('rated', { appendsPerSecond: 10 })
  await tenant('daily', { appendsPerSecond: null, eventsPerDay: 5 })
  const deps = { store: plane.keys, hasher: plane.hasher, clock: systemClock }
  for (const [who, t, role] of [
    ['acme-admin', 'acme', 'admin'],
    ['acme-dev', 'acme', 'developer'],
    ['acme-service', 'acme', 'service'],
    ['globex-admin', 'globex', 'admin'],
    ['rated-dev', 'rated', 'developer'],
    ['daily-dev', 'daily', 'developer'],
  ] as const) {
    const created = await createKey(deps)(t as TenantId, { role })
    if (E.isLeft(created)) throw new Error('key')
    keys[who] = created.right.key.reveal()
    conns[who] = await connect({ servers: server.url, ...tenantConnectOptions(t, keys[who] as string), reconnect: false })
  }
}, 60_000)

afterAll(() =>
  cleanUp(
    ...Object.values(conns).map((nc) => () => nc.close()),
    () => app?.close(),
    () => plane?.stop(),
    () => processorNc?.close(),
    () => server?.stop(),
    () => (dataDir !== undefined ? rm(dataDir, { recursive: true, force: true }) : undefined),
  ),
)

/** Waits until the processor's cache holds `revision` for `t` (the watch delivered the write). */
const cached = async (t: string, revision: number) => {
  for (let i = 0; i < 100 && plane.policies.cache.revisionOf(t as TenantId) < revision; i++) await sleep(20)
  expect(plane.policies.cache.revisionOf(t as TenantId)).toBeGreaterThanOrEqual(revision)
}

describe('policies on the append path', () => {
  it('a deny created over NATS refuses matching appends with FORBIDDEN + rule + event, without a restart, and lets others through', async () => {
    const dev = createAllSourceClient(conns['acme-dev']!)
    expect(E.isRight(await dev.tryAppend('acme', 'order-1', [{ type: 'order.deleted', payload: {} }]))).toBe(true)
    const rule = await ok('acme-admin', 'allsource.admin.acme.policies.create', { id: 'no-deletes', effect: 'deny', description: 'use a tombstone', match: { eventType: '*.deleted', category: 'order' } })
    expect(rule.id).toBe('no-deletes')
    const listed = await ok('acme-admin', 'allsource.admin.acme.policies.list')
    expect(listed.rules.map((r: { id: string }) => r.id)).toEqual(['no-deletes'])
    await cached('acme', listed.revision)
    const denied = await dev.tryAppend('acme', 'order-2', [{ type: 'order.placed', payload: {} }, { type: 'order.deleted', payload: {} }])
    expect(E.isLeft(denied) && denied.left.code).toBe('FORBIDDEN')
    if (E.isLeft(denied)) expect(denied.left.details).toMatchObject({ reason: 'policy', rule: 'no-deletes', event: 1 })
    expect((await dev.read('acme', 'order-2')).events).toHaveLength(0)
    // The deny is audited (request.denied, with who, rule and a count), once per window.
    await dev.tryAppend('acme', 'order-2', [{ type: 'order.deleted', payload: {} }])
    await plane.audit.flush()
    const page = await plane.audit.query({ _tag: 'Tenant', tenant: 'acme' as TenantId }, { action: { kind: 'exact', action: 'request.denied' }, limit: 100 })()
    const denials = E.isRight(page) ? page.right.entries.filter((e) => e.reason === 'FORBIDDEN') : []
    expect(denials).toHaveLength(1)
    expect(denials[0]).toMatchObject({ action: 'request.denied', outcome: 'denied', tenant: 'acme', who: { kind: 'key', tenant: 'acme' }, details: { operation: 'append', rule: 'no-deletes', refused: 1 } })
    expect(E.isRight(await dev.tryAppend('acme', 'order-2', [{ type: 'order.placed', payload: {} }]))).toBe(true)
    expect(E.isRight(await dev.tryAppend('acme', 'invoice-1', [{ type: 'invoice.deleted', payload: {} }]))).toBe(true)
    // Deleted over NATS: allowed again, no restart.
    await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: 'no-deletes' })
    const after = await ok('acme-admin', 'allsource.admin.acme.policies.list')
    await cached('acme', after.revision)
    expect(E.isRight(await dev.tryAppend('acme', 'order-3', [{ type: 'order.deleted', payload: {} }]))).toBe(true)
  })

  it('a role-scoped deny binds that role (from the key behind the reply inbox), not others', async () => {
    await ok('acme-admin', 'allsource.admin.acme.policies.create', { id: 'svc-no-audit', effect: 'deny', match: { eventType: 'audit.*', role: 'service' } })
    await cached('acme', (await ok('acme-admin', 'allsource.admin.acme.policies.list')).revision)
    const svc = await createAllSourceClient(conns['acme-service']!).tryAppend('acme', 'audit-1', [{ type: 'audit.note', payload: {} }])
    expect(E.isLeft(svc) && svc.left.details).toMatchObject({ rule: 'svc-no-audit' })
    expect(E.isRight(await createAllSourceClient(conns['acme-dev']!).tryAppend('acme', 'audit-1', [{ type: 'audit.note', payload: {} }]))).toBe(true)
    await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: 'svc-no-audit' })
  })

  it('a role-scoped deny binds a user by its role (from the user store), not a user of another role', async () => {
    const PW = 'policy user password 42'
    await ok('acme-admin', 'allsource.admin.acme.users.create', { username: 'dev.user', password: PW, role: 'developer' })
    await ok('acme-admin', 'allsource.admin.acme.users.create', { username: 'svc.user', password: PW, role: 'service' })
    await ok('acme-admin', 'allsource.admin.acme.policies.create', { id: 'dev-no-ledger', effect: 'deny', match: { eventType: 'ledger.*', role: 'developer' } })
    await cached('acme', (await ok('acme-admin', 'allsource.admin.acme.policies.list')).revision)
    conns['dev-user'] = await connect({ servers: server.url, reconnect: false, ...userConnectOptions('acme', 'dev.user', PW) })
    conns['svc-user'] = await connect({ servers: server.url, reconnect: false, ...userConnectOptions('acme', 'svc.user', PW) })
    const denied = await createAllSourceClient(conns['dev-user']!).tryAppend('acme', 'ledger-1', [{ type: 'ledger.entry', payload: {} }])
    expect(E.isLeft(denied) && denied.left.details).toMatchObject({ reason: 'policy', rule: 'dev-no-ledger' })
    // Before user roles were looked up, a user was checked as every appending role: this was denied too.
    expect(E.isRight(await createAllSourceClient(conns['svc-user']!).tryAppend('acme', 'ledger-1', [{ type: 'ledger.entry', payload: {} }]))).toBe(true)
    await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: 'dev-no-ledger' })
  })

  it('evaluate is a dry run: it answers the decision and writes nothing', async () => {
    await ok('acme-admin', 'allsource.admin.acme.policies.create', { id: 'big', effect: 'warn', match: { payloadBytes: { min: 100 } } })
    const jsm = await jetstreamManager(processorNc)
    const before = (await jsm.streams.info('ALLSOURCE_EVENTS')).state.last_seq
    const warn = await ok('acme-admin', 'allsource.admin.acme.policies.evaluate', { stream: 'doc-1', events: [{ type: 'doc.saved', payload: { text: 'x'.repeat(200) } }] })
    expect(warn).toMatchObject({ decision: 'warn', rule: 'big', event: 0 })
    const allow = await ok('acme-admin', 'allsource.admin.acme.policies.evaluate', { stream: 'doc-1', events: [{ type: 'doc.saved', payload: {} }], role: 'service' })
    expect(allow.decision).toBe('allow')
    expect(typeof allow.reason).toBe('string')
    const bad = await ask('acme-admin', 'allsource.admin.acme.policies.evaluate', { stream: 'doc-1', events: [] })
    expect(!bad.ok && bad.error.code).toBe('BAD_REQUEST')
    expect((await jsm.streams.info('ALLSOURCE_EVENTS')).state.last_seq).toBe(before)
    await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: 'big' })
  })

  it('a warn rule lets appends through with an AllSource-Policy-Warning reply header (body unchanged) and audits policy.warned once a minute with a count', async () => {
    const rule = await ok('acme-admin', 'allsource.admin.acme.policies.create', { id: 'loud', effect: 'warn', match: { eventType: 'loud.*' } })
    expect(rule.id).toBe('loud')
    await cached('acme', (await ok('acme-admin', 'allsource.admin.acme.policies.list')).revision)
    const replies = []
    for (let i = 0; i < 3; i++) {
      const m = await conns['acme-dev']!.request('allsource.append.acme.noisy-1', encodeMsgpack({ events: [{ type: 'loud.shout', payload: { i } }] }), { timeout: 5_000 })
      replies.push(m)
    }
    for (const m of replies) {
      expect(m.headers?.get('AllSource-Policy-Warning')).toBe('loud')
      expect(m.headers?.get('Nats-Service-Error-Code') ?? '').toBe('')
      expect(Object.keys(decodeMsgpack(m.data) as object).sort()).toEqual(['eventIds', 'fromVersion', 'offset', 'stream', 'tenant', 'toVersion'])
    }
    const quiet = await conns['acme-dev']!.request('allsource.append.acme.noisy-1', encodeMsgpack({ events: [{ type: 'calm.word', payload: {} }] }), { timeout: 5_000 })
    expect(quiet.headers?.has('AllSource-Policy-Warning') ?? false).toBe(false)
    expect(await plane.audit.flush(10_000)).toBe(true)
    const q = validateAuditQuery({ action: 'policy.warned', limit: 100 })
    if (E.isLeft(q)) throw new Error('audit query')
    const page = await plane.audit.query({ _tag: 'Tenant', tenant: 'acme' as TenantId }, q.right)()
    if (E.isLeft(page)) throw new Error('audit query')
    // Three warned appends within the minute: one entry now (the rest are counted and carried by the next one).
    expect(page.right.entries).toHaveLength(1)
    expect(page.right.entries[0]).toMatchObject({ tenant: 'acme', action: 'policy.warned', outcome: 'allowed', target: 'stream:noisy-1', who: { kind: 'key', tenant: 'acme' }, details: { rule: 'loud', operation: 'append', warned: 1 } })
    await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: 'loud' })
  })

  it('a denied ingest message is dead-lettered with FORBIDDEN', async () => {
    await ok('acme-admin', 'allsource.admin.acme.policies.create', { id: 'no-secrets', effect: 'deny', match: { eventType: 'secret.*' } })
    await cached('acme', (await ok('acme-admin', 'allsource.admin.acme.policies.list')).revision)
    const ingest = await app.startIngest({ lease: false })
    try {
      const h = headers()
      h.set('Content-Type', 'application/json')
      conns['acme-dev']!.publish('allsource.ingest.acme.vault-1', new TextEncoder().encode(JSON.stringify({ type: 'secret.kept', payload: {} })), { headers: h })
      conns['acme-dev']!.publish('allsource.ingest.acme.vault-1', new TextEncoder().encode(JSON.stringify({ type: 'vault.opened', payload: {} })), { headers: h })
      for (let i = 0; i < 150 && ingest.appended + ingest.deadLettered < 2; i++) await sleep(20)
      expect({ appended: ingest.appended, deadLettered: ingest.deadLettered }).toEqual({ appended: 1, deadLettered: 1 })
      const page = await app.read('acme', 'vault-1')
      expect(E.isRight(page) && page.right.events.map((e) => e.type)).toEqual(['vault.opened'])
    } finally {
      await ingest.stop()
      await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: 'no-secrets' })
    }
  })
})

describe('quotas', () => {
  it('appendsPerSecond 10: past the burst QUOTA_EXCEEDED with retryAfterMs; after waiting it, the append succeeds', async () => {
    const dev = createAllSourceClient(conns['rated-dev']!)
    let refused: Record<string, unknown> | undefined
    for (let i = 0; i < 30 && refused === undefined; i++) {
      const r = await dev.tryAppend('rated', `s-${i}`, [{ type: 'x.y', payload: {} }])
      if (E.isLeft(r)) {
        expect(r.left.code).toBe('QUOTA_EXCEEDED')
        refused = r.left.details
      }
    }
    expect(refused).toMatchObject({ quota: expect.stringMatching(/appendsPerSecond/), limit: 10 })
    const wait = refused?.retryAfterMs as number
    expect(wait).toBeGreaterThanOrEqual(1)
    await sleep(wait)
    expect(E.isRight(await dev.tryAppend('rated', 'after', [{ type: 'x.y', payload: {} }]))).toBe(true)
  })

  it('eventsPerDay 5: the sixth event is refused until the next UTC midnight, and a refused append counts nothing', async () => {
    const dev = createAllSourceClient(conns['daily-dev']!)
    expect(E.isRight(await dev.tryAppend('daily', 'd-1', [1, 2, 3].map(() => ({ type: 'x.y', payload: {} }))))).toBe(true)
    const tooMany = await dev.tryAppend('daily', 'd-1', [1, 2, 3].map(() => ({ type: 'x.y', payload: {} })))
    expect(E.isLeft(tooMany) && tooMany.left.code).toBe('QUOTA_EXCEEDED')
    if (E.isLeft(tooMany)) {
      const now = Date.now()
      const midnight = Math.ceil((now + 1) / 86_400_000) * 86_400_000
      expect(tooMany.left.details).toMatchObject({ quota: 'eventsPerDay', limit: 5 })
      const at = now + (tooMany.left.details.retryAfterMs as number)
      expect(Math.abs(at - midnight)).toBeLessThan(60_000)
    }
    expect(E.isRight(await dev.tryAppend('daily', 'd-1', [1, 2].map(() => ({ type: 'x.y', payload: {} }))))).toBe(true)
    const sixth = await dev.tryAppend('daily', 'd-2', [{ type: 'x.y', payload: {} }])
    expect(E.isLeft(sixth) && sixth.left.details).toMatchObject({ quota: 'eventsPerDay' })
  })
})

describe('stats', () => {
  it('answers events, streams, bytes, lastActivity, quotas and usage', async () => {
    const before = await ok('globex-admin', 'allsource.admin.globex.stats')
    expect(before).toMatchObject({ tenant: 'globex', events: 0, streams: 0, bytes: 0, lastActivity: null })
    await app.append('globex', 'a-1', [{ type: 'x.y', payload: { n: 1 } }, { type: 'x.y', payload: { n: 2 } }])
    await app.append('globex', 'b-1', [{ type: 'x.y', payload: { n: 3 } }])
    const s = await ok('globex-admin', 'allsource.admin.globex.stats')
    // Two commits (one log message each), three events: `events` counts what the log holds, commits.
    expect(s).toMatchObject({ tenant: 'globex', events: 2, streams: 2, quotas: { appendsPerSecond: null, eventsPerDay: 10_000 } })
    expect(s.bytes).toBeGreaterThan(0)
    expect(Number.isNaN(Date.parse(s.lastActivity))).toBe(false)
    expect(s.usage).toMatchObject({ eventsToday: { used: 0, limit: 10_000 }, appendsPerSecond: { limit: null, available: null } })
    const daily = await ok('daily-dev', 'allsource.admin.daily.stats').catch((e: Error) => e)
    expect(daily).toBeInstanceOf(Error) // a developer has no readStats grant: NATS refuses
  })
})

describe('isolation', () => {
  it('acme cannot manage or read globex\'s policies or stats: NATS refuses the publish', async () => {
    for (const subject of ['allsource.admin.globex.policies.create', 'allsource.admin.globex.policies.list', 'allsource.admin.globex.policies.delete', 'allsource.admin.globex.stats']) {
      await expect(conns['acme-admin']!.request(subject, encodeMsgpack({ id: 'x', effect: 'deny', match: {} }), { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/)
    }
    expect((await ok('globex-admin', 'allsource.admin.globex.policies.list')).rules).toEqual([])
  })
})

// ---- fuzz -------------------------------------------------------------------------------------

const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, -1, 0, 1.5, '', true))
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 })
const rec = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, opt(v)]))).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)))
const match = fc.oneof(
  rec({
    eventType: fc.oneof(fc.constantFrom('*', 'a.*', '', '?', 'x'.repeat(201)), fc.array(fc.constantFrom('a', 'b.*', '*x*'), { maxLength: 3 }), anything),
    category: fc.oneof(fc.constantFrom('order', 'a-b', ''), anything),
    role: fc.oneof(fc.constantFrom('service', 'operator', 'root'), anything),
    payloadBytes: fc.oneof(rec({ min: fc.oneof(fc.nat(), anything), max: fc.oneof(fc.nat(), anything) }), anything),
    eventtype: anything,
  }),
  anything,
)
const ruleBody = rec({
  id: fc.oneof(fc.constantFrom('r1', 'r2', 'bad id', '', 'x'.repeat(65)), anything),
  effect: fc.oneof(fc.constantFrom('allow', 'deny', 'warn', 'block'), anything),
  priority: fc.oneof(fc.integer({ min: -2_000_000, max: 2_000_000 }), anything),
  description: fc.oneof(fc.constantFrom('ok', 'a\u0001b'), anything),
  match,
  extra: anything,
})
const evalBody = rec({ stream: fc.oneof(fc.constantFrom('order-1', 'a.b', '*', ''), anything), events: fc.oneof(fc.array(rec({ type: fc.constantFrom('order.x', '', 'a b'), payload: anything }), { maxLength: 3 }), anything), role: fc.oneof(fc.constantFrom('admin', 'service', 'god'), anything) })
const request = fc.oneof(
  fc.record({ command: fc.constantFrom('create'), body: fc.oneof(ruleBody, anything) }),
  fc.record({ command: fc.constantFrom('delete'), body: fc.oneof(rec({ id: fc.oneof(fc.constantFrom('r1', 'nope', 'a b'), anything) }), anything) }),
  fc.record({ command: fc.constantFrom('list'), body: fc.oneof(fc.constant(undefined), fc.constant({}), anything) }),
  fc.record({ command: fc.constantFrom('evaluate'), body: fc.oneof(evalBody, anything) }),
  fc.record({ command: fc.constantFrom('purge', 'list.x', 'Create'), body: anything }),
  fc.record({ command: fc.constantFrom('stats'), body: fc.oneof(fc.constant(undefined), fc.constant({}), anything) }),
)
const CODES: readonly ErrorCode[] = ['BAD_REQUEST', 'INVALID_ID', 'NOT_FOUND']

describe('fuzz: policy and stats endpoints', () => {
  it('answer every request well-formed; a rejected request writes nothing', async () => {
    const jsm = await jetstreamManager(processorNc)
    const bucketSeq = async () => (await jsm.streams.info('KV_ALLSOURCE_POLICIES')).state.last_seq
    await fc.assert(
      fc.asyncProperty(request, async ({ command, body }) => {
        const subject = command === 'stats' ? 'allsource.admin.acme.stats' : `allsource.admin.acme.policies.${command}`
        const before = await bucketSeq()
        let r: Awaited<ReturnType<typeof ask>>
        try {
          r = await ask('acme-admin', subject, body)
        } catch (e) {
          // `list.x` is outside the admin's grant (`policies.*`): NATS refuses it.
          expect(command).toBe('list.x')
          expect(String(e)).toMatch(/Permissions Violation/)
          return
        }
        if (r.ok) {
          if (command === 'create') expect(r.value).toMatchObject({ id: expect.any(String), effect: expect.any(String) })
          if (command === 'delete') expect(Object.keys(r.value)).toEqual(['id'])
          if (command === 'list') expect(Array.isArray(r.value.rules)).toBe(true)
          if (command === 'evaluate') expect(['allow', 'deny', 'warn']).toContain(r.value.decision)
          if (command === 'stats') expect(r.value).toMatchObject({ tenant: 'acme', events: expect.any(Number), quotas: expect.any(Object) })
        } else {
          expect(CODES).toContain(r.error.code)
          expect(typeof r.error.message).toBe('string')
          expect(statusOf[r.error.code as ErrorCode]).toBeGreaterThanOrEqual(400)
          expect(await bucketSeq()).toBe(before)
        }
      }),
      { numRuns: fuzzRuns(120), ...fuzzSeed(120) },
    )
    // Leave no fuzz rule behind.
    for (const r of (await ok('acme-admin', 'allsource.admin.acme.policies.list')).rules) await ok('acme-admin', 'allsource.admin.acme.policies.delete', { id: r.id })
  }, fuzzTimeout(120, 400, 60_000))
})
